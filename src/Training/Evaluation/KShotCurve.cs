namespace DrICL.Training.Evaluation;

/// <summary>
/// Per k: the mean of the per-seed scores, their spread (the sample standard deviation, n - 1 in the
/// denominator; 0 with a single seed) and the number of seeds. The arrays line up with <see cref="KShotCurve.K"/>.
/// </summary>
public sealed class MeanSpread
{
    public required double[] Mean { get; init; }
    public required double[] Spread { get; init; }
    public required int[] Seeds { get; init; }
}

/// <summary>
/// How steady the task-averaged mean is as k grows: its sample standard deviation across all k (0 with one k),
/// the best k and its mean, the largest k and its mean, and the drop from the best to the largest k (0 when
/// the largest k is the best; positive when adding demonstrations past the best k hurts).
/// </summary>
public sealed class KShotStability
{
    public required double StdAcrossK { get; init; }
    public required int BestK { get; init; }
    public required double BestMean { get; init; }
    public required int LargestK { get; init; }
    public required double MeanAtLargestK { get; init; }
    public required double DropFromBest { get; init; }
}

/// <summary>One objective's evaluation: scores against the number of demonstrations k per task and averaged over tasks, and its training loss.</summary>
public sealed class KShotCurve
{
    /// <summary>The demonstration counts, ascending; every task has scores at every one.</summary>
    public required int[] K { get; init; }
    /// <summary>Per task, ordered by name (ordinal).</summary>
    public required Dictionary<string, MeanSpread> Tasks { get; init; }
    /// <summary>
    /// The task average: per seed the mean over tasks, then mean and spread over seeds. The i-th score of
    /// every task at a k must come from the same seed, so every task has the same number of seeds at that k.
    /// </summary>
    public required MeanSpread Average { get; init; }
    public required KShotStability Stability { get; init; }
    public required LossPoint[] TrainLoss { get; init; }

    /// <param name="objective">Only for error messages.</param>
    /// <param name="scores">task → k → per-seed scores, in seed order.</param>
    /// <param name="trainLoss">Sorted by step here; empty for an objective that was not trained.</param>
    public static KShotCurve Summarize(string objective, IReadOnlyDictionary<string, IReadOnlyDictionary<int, IReadOnlyList<double>>> scores,
        IEnumerable<LossPoint> trainLoss)
    {
        if (scores.Count == 0) throw new ArgumentException($"objective '{objective}' has no scores to summarize.", nameof(scores));
        int[] ks = [.. scores.Values.SelectMany(byK => byK.Keys).Distinct().Order()];
        var tasks = new Dictionary<string, MeanSpread>();
        var seedAverages = new double[ks.Length][];
        foreach (var (task, byK) in scores.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var perK = new IReadOnlyList<double>[ks.Length];
            for (int i = 0; i < ks.Length; i++)
            {
                if (!byK.TryGetValue(ks[i], out var seeds) || seeds.Count == 0)
                    throw new ArgumentException($"objective '{objective}', task '{task}' has no scores at k={ks[i]}; every task of an objective needs every k.", nameof(scores));
                seedAverages[i] ??= new double[seeds.Count];
                if (seeds.Count != seedAverages[i].Length)
                    throw new ArgumentException($"objective '{objective}' has {seedAverages[i].Length} seeds at k={ks[i]} in one task but {seeds.Count} in task '{task}'; the task average pairs seeds across tasks.", nameof(scores));
                for (int s = 0; s < seeds.Count; s++) seedAverages[i][s] += seeds[s] / scores.Count;
                perK[i] = seeds;
            }
            tasks[task] = Describe(perK);
        }
        var average = Describe(seedAverages);
        return new KShotCurve
        {
            K = ks,
            Tasks = tasks,
            Average = average,
            Stability = StabilityOf(ks, average.Mean),
            TrainLoss = [.. trainLoss.OrderBy(p => p.Step)],
        };
    }

    static MeanSpread Describe(IReadOnlyList<IReadOnlyList<double>> perK) => new()
    {
        Mean = [.. perK.Select(s => s.Average())],
        Spread = [.. perK.Select(SampleStandardDeviation)],
        Seeds = [.. perK.Select(s => s.Count)],
    };

    static KShotStability StabilityOf(int[] ks, double[] mean)
    {
        int best = 0;
        for (int i = 1; i < ks.Length; i++) if (mean[i] > mean[best]) best = i;
        int largest = ks.Length - 1;
        return new KShotStability
        {
            StdAcrossK = SampleStandardDeviation(mean),
            BestK = ks[best],
            BestMean = mean[best],
            LargestK = ks[largest],
            MeanAtLargestK = mean[largest],
            DropFromBest = mean[best] - mean[largest],
        };
    }

    internal static double SampleStandardDeviation(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return 0;
        double mean = values.Average(), squares = 0;
        foreach (var v in values) squares += (v - mean) * (v - mean);
        return Math.Sqrt(squares / (values.Count - 1));
    }
}
