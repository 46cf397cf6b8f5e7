namespace DrICL.Training;

/// <summary>The learning rate at each optimizer step (1-based): constant, or linear warm-up then cosine decay to MinRatio * Peak.</summary>
public sealed record LearningRateSchedule(float Peak, int WarmupSteps = 0, int TotalSteps = 0, bool Cosine = false, float MinRatio = 0.1f)
{
    public float At(int step)
    {
        if (WarmupSteps > 0 && step <= WarmupSteps) return Peak * step / WarmupSteps;
        if (!Cosine || TotalSteps <= WarmupSteps) return Peak;
        double progress = Math.Clamp((double)(step - WarmupSteps) / (TotalSteps - WarmupSteps), 0, 1);
        return (float)(Peak * (MinRatio + (1 - MinRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress))));
    }

    public static LearningRateSchedule Parse(string name, float peak, int warmup, int total) => name switch
    {
        "constant" => new(peak, warmup, total),
        "cosine" => new(peak, warmup, total, Cosine: true),
        _ => throw new ArgumentException($"unknown learning-rate schedule '{name}': use constant or cosine"),
    };
}
