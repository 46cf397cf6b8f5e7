using DrICL.Model;

namespace DrICL.Training.Objectives;

/// <summary>What one objective evaluation produced: the loss and named diagnostics (for reports and checks).</summary>
public sealed record LossReport(double Loss, IReadOnlyDictionary<string, float[]> Details);

/// <summary>
/// A fine-tuning objective: runs the forward passes it needs on a batch and, when asked, the backward
/// passes, adding d loss / d parameter into the model's gradients.
/// </summary>
public interface IObjective
{
    string Name { get; }
    LossReport Run(Transformer model, TokenBatch batch, bool backward);
}
