using DrICL.Model;

namespace DrICL.Training.Objectives;

/// <summary>Plain instruction tuning (IT): the token mean of the NLL over every supervised position.</summary>
public sealed class InstructionTuning : IObjective
{
    public string Name => "it";

    public LossReport Run(Transformer model, TokenBatch batch, bool backward)
    {
        var weights = TokenWeighted.MeanOver(batch, _ => true);
        var nll = TokenWeighted.Pass(model, batch, backward, _ => weights);
        return new LossReport(TokenWeighted.Dot(weights, nll), new Dictionary<string, float[]> { ["token_nll"] = nll });
    }
}
