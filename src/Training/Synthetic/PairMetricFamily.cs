using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// Pair-wise metric classification: per episode a weighted L1 metric (weights in {0, 1, 2} per position, not all zero)
/// and a threshold t in {0, 1, 2}; an input is a pair of digit strings over 0–3, written "021 310", its answer "y"
/// when their distance sum_i w_i |a_i - b_i| is at most t, else "n". Which positions matter, and how much, is only
/// visible from the demonstrations. Labels are balanced. Difficulty: strings of 2, 3, 4 digits. Queries are held-out
/// pairs.
/// </summary>
public sealed class PairMetricFamily : ISyntheticFamily
{
    const int Values = 4;
    const int MaxWeight = 2;
    const int MaxThreshold = 2;
    static readonly int[] LengthAt = [2, 3, 4];

    public string Name => "pair-metric";
    public string Instruction => "Same?";
    public string Kind => "classification";
    public string Metric => "accuracy";

    /// <summary>The per-episode latent: same iff the weighted L1 distance is at most the threshold.</summary>
    sealed record WeightedL1(int[] Weights, int Threshold)
    {
        public int Distance(int[] a, int[] b)
        {
            int distance = 0;
            for (int i = 0; i < a.Length; i++) distance += Weights[i] * Math.Abs(a[i] - b[i]);
            return distance;
        }
    }

    public SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries)
    {
        SyntheticSuite.CheckDifficulty(difficulty);
        int length = LengthAt[difficulty];
        var metric = LatentSplit.Draw(Name, split, () => DrawMetric(random, length), Describe);
        return HeldOutExamples.Draw(this, Describe(metric), () => Example(random, metric), examples, queries);
    }

    /// <summary>
    /// Exact Bayes (see <see cref="ISyntheticFamily.Solve"/>): every metric (weights of the query's length, not all zero,
    /// and a threshold; uniform prior) that labels all demonstrations as shown. An example picks its label by a fair coin
    /// and then redraws pairs until one has it, so a pair's chance under a metric is its proposal chance (the same for
    /// every metric) over the metric's chance of proposing a pair with that label (<see cref="SameChance"/>): metrics that
    /// make the shown labels rare fit them better. The query's answer under a metric is the label it gives.
    /// </summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        var shown = demonstrations.Select(demo => (Pair: ParsePair(demo.Input), Same: demo.Output == "y")).ToArray();
        var query = ParsePair(queryInput);
        var hypotheses = new List<(string, double)>();
        foreach (var weights in LatentPosterior.Grid(query.A.Length, 0, MaxWeight).Where(weights => weights.Any(w => w != 0)))
            for (int threshold = 0; threshold <= MaxThreshold; threshold++)
            {
                var metric = new WeightedL1(weights, threshold);
                double same = SameChance(metric);
                double LogChance(bool isSame) => -Math.Log(isSame ? same : 1 - same);
                double log = 0;
                foreach (var (pair, isSame) in shown)
                    log += metric.Distance(pair.A, pair.B) <= threshold == isSame ? LogChance(isSame) : double.NegativeInfinity;
                bool answer = metric.Distance(query.A, query.B) <= threshold;
                hypotheses.Add((answer ? "y" : "n", log + LogChance(answer)));
            }
        return LatentPosterior.MostProbableAnswer(hypotheses, Name);
    }

    static (int[] A, int[] B) ParsePair(string input)
    {
        var halves = input.Split(' ');
        return ([.. halves[0].Select(c => c - '0')], [.. halves[1].Select(c => c - '0')]);
    }

    /// <summary>
    /// The chance that <see cref="Example"/>'s proposal (a uniform; b uniform or a with one digit changed, even odds) is
    /// at distance at most t. With b uniform, a position's |a_i - b_i| is 0, 1, 2, 3 with chances 4, 6, 4, 2 in 16, and the
    /// distance's distribution is the convolution over positions; with one digit changed, that digit's |a_i - b_i| is
    /// 1, 2, 3 with chances 6, 4, 2 in 12, at a uniform position.
    /// </summary>
    static double SameChance(WeightedL1 metric)
    {
        double[] gap = [4 / 16.0, 6 / 16.0, 4 / 16.0, 2 / 16.0];
        var distance = new double[] { 1 };
        foreach (int w in metric.Weights)
        {
            var next = new double[distance.Length + w * (Values - 1)];
            for (int d = 0; d < distance.Length; d++)
                for (int g = 0; g < Values; g++) next[d + w * g] += distance[d] * gap[g];
            distance = next;
        }
        double independent = distance.Take(metric.Threshold + 1).Sum();
        double oneChanged = metric.Weights.Average(w => Enumerable.Range(1, Values - 1).Where(g => w * g <= metric.Threshold).Sum(g => gap[g] * 16 / 12));
        return (independent + oneChanged) / 2;
    }

    static string Describe(WeightedL1 metric) => $"w={string.Join(',', metric.Weights)} t={metric.Threshold}";

    static WeightedL1 DrawMetric(SplitMix64 random, int length)
    {
        var weights = new int[length];
        while (weights.All(w => w == 0))
            for (int i = 0; i < length; i++) weights[i] = random.NextInt(MaxWeight + 1);
        return new WeightedL1(weights, random.NextInt(MaxThreshold + 1));
    }

    /// <summary>
    /// Picks the label first, then draws pairs until one has it: b is either independent of a or a with one digit
    /// changed, so that many pairs differ in a single position and show whether that position counts. Both labels are
    /// always reachable: a = b is at distance 0, and digits 0 and 3 at a weighted position are at distance at least 3 > t.
    /// </summary>
    static TaskExample Example(SplitMix64 random, WeightedL1 metric)
    {
        bool same = random.NextInt(2) == 0;
        int length = metric.Weights.Length;
        while (true)
        {
            var a = Digits(random, length);
            var b = random.NextInt(2) == 0 ? Digits(random, length) : OneChanged(random, a);
            if (metric.Distance(a, b) <= metric.Threshold == same)
                return new TaskExample($"{string.Concat(a)} {string.Concat(b)}", same ? "y" : "n");
        }
    }

    static int[] OneChanged(SplitMix64 random, int[] a)
    {
        var b = (int[])a.Clone();
        int at = random.NextInt(b.Length);
        b[at] = (b[at] + 1 + random.NextInt(Values - 1)) % Values;
        return b;
    }

    static int[] Digits(SplitMix64 random, int length)
    {
        var digits = new int[length];
        for (int i = 0; i < length; i++) digits[i] = random.NextInt(Values);
        return digits;
    }
}
