using System.Globalization;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// The optimal learner of <see cref="SparseLinearFamily"/>: the exact Bayesian posterior over weight vectors. It
/// enumerates every vector the family can draw at the given difficulties (each support of that many coordinates, each
/// choice of non-zero values), each with its prior probability (difficulties equally likely, vectors within one equally
/// likely), keeps those that reproduce every demonstration's y exactly (the family is noise-free, so the likelihood is
/// 1 or 0) and predicts the query's y by the posterior mixture. With one difficulty this is the posterior over sparse
/// supports of known size; it is what least squares restricted to the family's prior becomes when the weights are
/// small integers. No learner can do better on the family's own distribution.
/// </summary>
public sealed class SparseLinearPosterior
{
    readonly List<(int[] Weights, double Prior)> hypotheses = [];

    public SparseLinearPosterior(IReadOnlyCollection<int> difficulties)
    {
        if (difficulties.Count == 0) throw new ArgumentException("the posterior needs at least one difficulty", nameof(difficulties));
        foreach (int difficulty in difficulties)
        {
            SparseLinearFamily.CheckDifficulty(difficulty);
            var level = Vectors(0, difficulty).ToList();
            foreach (var weights in level) hypotheses.Add((weights, 1.0 / (difficulties.Count * level.Count)));
        }
    }

    /// <summary>The posterior over every weight vector of every difficulty: the family's optimal learner when the difficulty is not known.</summary>
    public static SparseLinearPosterior AnyDifficulty { get; } =
        new(Enumerable.Range(SparseLinearFamily.MinDifficulty, SparseLinearFamily.MaxDifficulty - SparseLinearFamily.MinDifficulty + 1).ToList());

    /// <summary>
    /// P(y | demonstrations, query input) for y = -MaxOutput … MaxOutput (index y + MaxOutput): the prior predictive
    /// without demonstrations.
    /// </summary>
    public double[] Predictive(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        var observed = demonstrations.Select(d => (X: SparseLinearFamily.ParseInput(d.Input), Y: ParseAnswer(d.Output))).ToList();
        var query = SparseLinearFamily.ParseInput(queryInput);
        int max = SparseLinearFamily.MaxOutput;
        var predictive = new double[2 * max + 1];
        double total = 0;
        foreach (var (weights, prior) in hypotheses)
        {
            if (!observed.All(o => SparseLinearFamily.Dot(weights, o.X) == o.Y)) continue;
            predictive[SparseLinearFamily.Dot(weights, query) + max] += prior;
            total += prior;
        }
        if (total == 0) throw new ArgumentException("no weight vector of the family reproduces these demonstrations", nameof(demonstrations));
        for (int i = 0; i < predictive.Length; i++) predictive[i] /= total;
        return predictive;
    }

    /// <summary>The most probable answer (the smallest y among equally probable ones).</summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        var predictive = Predictive(demonstrations, queryInput);
        int best = 0;
        for (int i = 1; i < predictive.Length; i++) if (predictive[i] > predictive[best]) best = i;
        return SparseLinearFamily.Answer(best - SparseLinearFamily.MaxOutput);
    }

    /// <summary>
    /// -log P(expected answer | demonstrations, query input), in nats: the optimal learner's loss on one query (written
    /// 0 - log so that a certain answer costs +0, not -0).
    /// </summary>
    public double Loss(IReadOnlyList<TaskExample> demonstrations, TaskExample query) =>
        0 - Math.Log(Predictive(demonstrations, query.Input)[ParseAnswer(query.Output) + SparseLinearFamily.MaxOutput]);

    static int ParseAnswer(string text) => int.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    /// <summary>Every weight vector with exactly <paramref name="nonZero"/> non-zero entries from coordinate <paramref name="from"/> on.</summary>
    static IEnumerable<int[]> Vectors(int from, int nonZero)
    {
        if (from == SparseLinearFamily.Dimension)
        {
            if (nonZero == 0) yield return new int[SparseLinearFamily.Dimension];
            yield break;
        }
        foreach (var rest in Vectors(from + 1, nonZero)) yield return rest;
        if (nonZero == 0) yield break;
        foreach (int value in SparseLinearFamily.WeightValues)
            foreach (var rest in Vectors(from + 1, nonZero - 1))
            {
                rest[from] = value;
                yield return rest;
            }
    }
}
