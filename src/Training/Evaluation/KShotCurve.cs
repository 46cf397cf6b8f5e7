namespace DrICL.Training.Evaluation;

/// <summary>
/// Per k: the mean of the per-seed scores, their spread (the sample standard deviation, n - 1 in the
/// denominator; 0 with a single seed) and the number of seeds. The arrays line up with <see cref="K"/>: a
/// task's own demonstration counts (those that fit its context), or every k for the task average, where
/// TaskCount says how many tasks reach each k.
/// </summary>
public sealed class MeanSpread
{
    public required int[] K { get; init; }
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int[]? TaskCount { get; init; }
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
    /// <summary>Every demonstration count any task was scored at, ascending.</summary>
    public required int[] K { get; init; }
    /// <summary>Per task, ordered by name (ordinal).</summary>
    public required Dictionary<string, MeanSpread> Tasks { get; init; }
    /// <summary>
    /// The task average: at each k, per seed the mean over the tasks scored at that k (a task whose episodes
    /// cannot hold k demonstrations drops out from there on), then mean and spread over seeds. The i-th score
    /// of every task at a k must come from the same seed, so those tasks have the same number of seeds there.
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
        var seedSums = new double[ks.Length][];
        var taskCount = new int[ks.Length];
        foreach (var (task, byK) in scores.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            int[] own = [.. byK.Keys.Order()];
            var perK = new IReadOnlyList<double>[own.Length];
            for (int j = 0; j < own.Length; j++)
            {
                var seeds = byK[own[j]];
                if (seeds.Count == 0) throw new ArgumentException($"objective '{objective}', task '{task}' has no scores at k={own[j]}.", nameof(scores));
                int i = Array.IndexOf(ks, own[j]);
                seedSums[i] ??= new double[seeds.Count];
                if (seeds.Count != seedSums[i].Length)
                    throw new ArgumentException($"objective '{objective}' has {seedSums[i].Length} seeds at k={ks[i]} in one task but {seeds.Count} in task '{task}'; the task average pairs seeds across tasks.", nameof(scores));
                for (int seed = 0; seed < seeds.Count; seed++) seedSums[i][seed] += seeds[seed];
                taskCount[i]++;
                perK[j] = seeds;
            }
            tasks[task] = Describe(own, perK);
        }
        var seedAverages = seedSums.Select((sums, i) => sums.Select(x => x / taskCount[i]).ToArray()).ToArray();
        var average = Describe(ks, seedAverages, taskCount);
        return new KShotCurve
        {
            K = ks,
            Tasks = tasks,
            Average = average,
            Stability = StabilityOf(ks, average.Mean),
            TrainLoss = [.. trainLoss.OrderBy(p => p.Step)],
        };
    }

    static MeanSpread Describe(int[] ks, IReadOnlyList<IReadOnlyList<double>> perK, int[]? taskCount = null) => new()
    {
        K = ks,
        TaskCount = taskCount,
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
