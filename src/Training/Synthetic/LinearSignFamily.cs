using System.Collections.Concurrent;
using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// Linear regression read out as a sign: per episode a weight vector w with entries in [-3, 3] (not all zero); an
/// input is a non-zero integer vector x in [-3, 3]^d written "3,-2", its answer the sign of y = w·x + noise, "+" or "-"
/// (draws with y = 0 are redrawn). Each demonstration is one half-plane constraint on w, so more shots pin the boundary
/// down. Difficulty: d = 2 without noise, d = 2 with noise in [-2, 2], d = 3 with that noise. Queries are held-out inputs.
/// </summary>
public sealed class LinearSignFamily : ISyntheticFamily
{
    const int Range = 3;
    static readonly int[] DimensionAt = [2, 2, 3];
    static readonly int[] NoiseAt = [0, 2, 2];

    public string Name => "linear-sign";
    public string Instruction => "Sign.";
    public string Kind => "regression";
    public string Metric => "accuracy";

    public SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries)
    {
        SyntheticSuite.CheckDifficulty(difficulty);
        int dimension = DimensionAt[difficulty], noise = NoiseAt[difficulty];
        var weights = LatentSplit.Draw(Name, split, () => NonZeroVector(random, dimension), Describe);
        return HeldOutExamples.Draw(this, Describe(weights), () => Example(random, weights, noise), examples, queries);
    }

    /// <summary>
    /// Exact Bayes (see <see cref="ISyntheticFamily.Solve"/>): every weight vector of the query's dimension (uniform
    /// prior) at every difficulty of that dimension (d = 2: noise 0 or 2, equally likely) is weighed by the chance that it
    /// draws the demonstrations and then the query with each sign. A draw keeps x (uniform) and noise e (uniform in [-n, n])
    /// unless w·x + e = 0, so P(x, sign | w) = #{e: w·x + e has that sign} / #{(x', e'): w·x' + e' ≠ 0}: the noise count
    /// over the kept-draw count of w (<see cref="KeptDraws"/>). Without noise this keeps exactly the w whose half-plane
    /// agrees with every demonstration.
    /// </summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        var query = Parse(queryInput);
        var shown = demonstrations.Select(demo => (X: Parse(demo.Input), demo.Output)).ToArray();
        var hypotheses = new List<(string, double)>();
        for (int difficulty = 0; difficulty <= SyntheticSuite.MaxDifficulty; difficulty++)
        {
            if (DimensionAt[difficulty] != query.Length) continue;
            int noise = NoiseAt[difficulty];
            var vectors = Vectors(query.Length);
            var kept = KeptDraws(query.Length, noise);
            for (int v = 0; v < vectors.Length; v++)
            {
                var w = vectors[v];
                double logKept = Math.Log(kept[v]);
                double log = 0;
                foreach (var (x, sign) in shown) log += Math.Log(SignCount(w, x, noise, sign)) - logKept;
                if (double.IsNegativeInfinity(log)) continue;
                foreach (string sign in (string[])["+", "-"])
                    hypotheses.Add((sign, log + Math.Log(SignCount(w, query, noise, sign)) - logKept));
            }
        }
        return LatentPosterior.MostProbableAnswer(hypotheses, Name);
    }

    static int[] Parse(string input) => [.. input.Split(',').Select(int.Parse)];

    /// <summary>How many noise values in [-n, n] give w·x + e the sign "+" (positive) or "-" (negative).</summary>
    static int SignCount(int[] w, int[] x, int noise, string sign)
    {
        int dot = 0;
        for (int i = 0; i < w.Length; i++) dot += w[i] * x[i];
        int count = 0;
        for (int e = -noise; e <= noise; e++)
            if (sign == "+" ? dot + e > 0 : dot + e < 0) count++;
        return count;
    }

    /// <summary>Every non-zero vector of [-3, 3]^d, in a fixed order: the latents and the inputs of dimension d.</summary>
    static int[][] Vectors(int dimension) =>
        VectorCache.GetOrAdd(dimension, d => [.. LatentPosterior.Grid(d, -Range, Range).Where(vector => vector.Any(v => v != 0))]);

    /// <summary>Per latent of <see cref="Vectors"/>: the number of (input, noise) draws that are kept (w·x + e ≠ 0).</summary>
    static long[] KeptDraws(int dimension, int noise) => KeptCache.GetOrAdd((dimension, noise), key =>
    {
        var vectors = Vectors(key.Dimension);
        return [.. vectors.Select(w => vectors.Sum(x => (long)(SignCount(w, x, key.Noise, "+") + SignCount(w, x, key.Noise, "-"))))];
    });

    static readonly ConcurrentDictionary<int, int[][]> VectorCache = new();
    static readonly ConcurrentDictionary<(int Dimension, int Noise), long[]> KeptCache = new();

    static string Describe(int[] weights) => "w=" + string.Join(',', weights);

    static TaskExample Example(SplitMix64 random, int[] weights, int noise)
    {
        while (true)
        {
            var x = NonZeroVector(random, weights.Length);
            int y = noise - random.NextInt(2 * noise + 1);
            for (int i = 0; i < x.Length; i++) y += weights[i] * x[i];
            if (y != 0) return new TaskExample(string.Join(',', x), y > 0 ? "+" : "-");
        }
    }

    static int[] NonZeroVector(SplitMix64 random, int dimension)
    {
        var vector = new int[dimension];
        while (vector.All(v => v == 0))
            for (int i = 0; i < dimension; i++) vector[i] = random.NextInt(2 * Range + 1) - Range;
        return vector;
    }
}
