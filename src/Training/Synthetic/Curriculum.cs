namespace DrICL.Training.Synthetic;

/// <summary>
/// An easy-to-hard schedule over training episodes, like the meta-learner study's curriculum: over the first
/// <see cref="RampFraction"/> of training, the number of demonstrations per episode grows linearly from
/// <see cref="StartShots"/> to <see cref="EndShots"/> and the highest difficulty from <see cref="StartDifficulty"/> to
/// <see cref="EndDifficulty"/> (each level holding an equal share of the ramp); after the ramp both stay at their end
/// values. The suite's episodes still draw their difficulty uniformly up to the current highest, so easy tasks are never
/// forgotten, and never hold more demonstrations than fit. Set EndShots to about what fits in the context: beyond that
/// the ramp reaches full episodes early. Difficulty levels are the family's: the suite's run from 0 to
/// <see cref="SyntheticSuite.MaxDifficulty"/> (the defaults), a family with its own range (such as
/// <see cref="SparseLinearFamily"/>) gives its bounds, and whoever samples checks them.
/// </summary>
public sealed record Curriculum(double RampFraction, int StartShots, int EndShots, int StartDifficulty = 0, int EndDifficulty = SyntheticSuite.MaxDifficulty)
{
    public double RampFraction { get; } = RampFraction is > 0 and <= 1 ? RampFraction
        : throw new ArgumentOutOfRangeException(nameof(RampFraction), $"ramp fraction must be in (0, 1], got {RampFraction}");
    public int StartShots { get; } = StartShots >= 1 ? StartShots
        : throw new ArgumentOutOfRangeException(nameof(StartShots), $"episodes need at least one demonstration, got {StartShots}");
    public int EndShots { get; } = EndShots >= StartShots ? EndShots
        : throw new ArgumentOutOfRangeException(nameof(EndShots), $"end shots {EndShots} is below start shots {StartShots}");
    public int StartDifficulty { get; } = StartDifficulty >= 0 ? StartDifficulty
        : throw new ArgumentOutOfRangeException(nameof(StartDifficulty), $"difficulty must not be negative, got {StartDifficulty}");
    public int EndDifficulty { get; } = EndDifficulty >= StartDifficulty ? EndDifficulty
        : throw new ArgumentOutOfRangeException(nameof(EndDifficulty), $"end difficulty {EndDifficulty} is below start difficulty {StartDifficulty}");

    /// <summary>The most demonstrations and the highest difficulty for episode <paramref name="index"/> of <paramref name="total"/>.</summary>
    public (int MaxShots, int MaxDifficulty) At(long index, long total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(total);
        double progress = Math.Min(1, index / (RampFraction * total));
        int shots = StartShots + (int)Math.Round((EndShots - (double)StartShots) * progress);
        int span = EndDifficulty - StartDifficulty;
        return (shots, StartDifficulty + Math.Min(span, (int)((span + 1) * progress)));
    }
}
