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
