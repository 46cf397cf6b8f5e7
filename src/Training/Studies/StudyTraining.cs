using DrICL.Model;
using DrICL.Training.Objectives;
using DrICL.Kernels;

namespace DrICL.Training.Studies;

/// <summary>
/// The one training recipe of the studies, the demo's: AdamW (β 0.9/0.98, ε 5e-8, weight decay 1e-4), gradient
/// norm clipped at 1, cosine decay after a linear warmup over the first steps/15. Arms differ in objective or data,
/// never in optimizer settings.
/// </summary>
public static class StudyTraining
{
    /// <summary>Trains <paramref name="steps"/> steps; <paramref name="onStep"/> sees each one as it completes (where a study evaluates during training).</summary>
    public static List<StepRecord> Train(Transformer model, IObjective objective, Func<long, TokenBatch> batches, int steps, float learningRate,
        Action<StepRecord>? onStep = null)
    {
        var schedule = LearningRateSchedule.Parse("cosine", learningRate, warmup: Math.Max(1, steps / 15), total: steps);
        var options = new TrainerOptions(steps, schedule) { AdamW = new AdamWConfig(learningRate, 0.9f, 0.98f, 5e-8f, 1e-4f) };
        return new Trainer(model, objective, batches, options).Run(onStep);
    }

    /// <summary>Where a study scores a model while it trains: 0 (the initialization), then every steps / points, the last being steps.</summary>
    public static int[] EvenlySpacedSteps(int steps, int points) =>
        [0, .. Enumerable.Range(1, points).Select(i => (int)Math.Round(i * (double)steps / points)).Distinct()];
}
