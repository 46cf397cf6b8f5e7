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
