using DrICL.Model;

namespace DrICL.Training.Studies;

/// <summary>
/// Training seed <see cref="Index"/> of a study: the initialization seed and the training-data seed every arm
/// trained with it uses. Both depend on the index only, never on the arm, so two arms trained with seed i start
/// from the same weights and see the same batches: comparisons between arms are paired by construction.
/// </summary>
public readonly record struct TrainingSeed(int Index, ulong Model, ulong Data)
{
    public static TrainingSeed[] For(ulong baseSeed, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return [.. Enumerable.Range(0, count).Select(i => new TrainingSeed(i,
            SplitMix64.DeriveSeed(baseSeed, $"model {i}"), SplitMix64.DeriveSeed(baseSeed, $"data {i}")))];
    }
}
