using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// Sparse linear regression, the meta-learning paper's curriculum task: per episode a weight vector w over
/// <see cref="Dimension"/> coordinates with exactly `difficulty` non-zero entries, each in <see cref="WeightValues"/>;
/// an input is x in {-1, 0, 1}^d written one character a coordinate ("+0-+" is x = (1, 0, -1, 1)), its answer the
/// exact y = w·x written with its sign ("+3", "-1", "0"), one or two tokens. Noise-free, so each demonstration is one
/// linear equation on w. Difficulty is the number of non-zero entries, from <see cref="MinDifficulty"/> to
/// <see cref="MaxDifficulty"/>: this family's own range, wider than the suite's 0–<see cref="SyntheticSuite.MaxDifficulty"/>.
/// Queries are held-out inputs.
/// </summary>
public sealed class SparseLinearFamily : ISyntheticFamily
{
    public const int Dimension = 4;
    public const int MinDifficulty = 1;
    public const int MaxDifficulty = Dimension;
    public static IReadOnlyList<int> WeightValues { get; } = [-2, -1, 1, 2];

    /// <summary>The largest |y|: every coordinate non-zero with the largest weight.</summary>
    public static int MaxOutput => Dimension * WeightValues.Max(Math.Abs);

    public string Name => "sparse-linear";
    public string Instruction => "Linear.";
    public string Kind => "regression";
    public string Metric => "accuracy";

    public SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries)
    {
        CheckDifficulty(difficulty);
        var weights = LatentSplit.Draw(Name, split, () => SparseVector(random, difficulty), Describe);
        return HeldOutExamples.Draw(this, Describe(weights), () => Example(random, weights), examples, queries);
    }

    /// <summary>
    /// Exact Bayes (see <see cref="ISyntheticFamily.Solve"/>): the posterior over every weight vector of every difficulty,
    /// difficulties equally likely a priori (<see cref="SparseLinearPosterior.AnyDifficulty"/>).
    /// </summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput) => SparseLinearPosterior.AnyDifficulty.Solve(demonstrations, queryInput);

    public static void CheckDifficulty(int difficulty)
    {
        if (difficulty is < MinDifficulty or > MaxDifficulty)
            throw new ArgumentOutOfRangeException(nameof(difficulty), $"sparse-linear difficulty (non-zero weights) must be in [{MinDifficulty}, {MaxDifficulty}], got {difficulty}");
    }

    /// <summary>The answer text of y: "+3", "-1", "0".</summary>
    public static string Answer(int y) => y > 0 ? "+" + y : y.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The input text of x: '+' for 1, '0' for 0, '-' for -1.</summary>
    public static string Input(int[] x) => new([.. x.Select(v => v switch { 1 => '+', 0 => '0', -1 => '-', _ => throw new ArgumentOutOfRangeException(nameof(x), $"coordinate {v} is not -1, 0 or 1") })]);

    /// <summary>x from its input text; throws on anything <see cref="Input"/> does not write.</summary>
    public static int[] ParseInput(string text)
    {
        if (text.Length != Dimension) throw new FormatException($"sparse-linear input \"{text}\" does not have {Dimension} coordinates");
        return [.. text.Select(c => c switch { '+' => 1, '0' => 0, '-' => -1, _ => throw new FormatException($"sparse-linear input \"{text}\" holds '{c}'") })];
    }

    static string Describe(int[] weights) => "w=" + string.Join(',', weights);

    static TaskExample Example(SplitMix64 random, int[] weights)
    {
        var x = new int[Dimension];
        for (int i = 0; i < Dimension; i++) x[i] = random.NextInt(3) - 1;
        return new TaskExample(Input(x), Answer(Dot(weights, x)));
    }

    public static int Dot(int[] weights, int[] x)
    {
        int y = 0;
        for (int i = 0; i < Dimension; i++) y += weights[i] * x[i];
        return y;
    }

    static int[] SparseVector(SplitMix64 random, int nonZero)
    {
        var weights = new int[Dimension];
        foreach (int i in random.SampleWithoutReplacement(Dimension, nonZero)) weights[i] = WeightValues[random.NextInt(WeightValues.Count)];
        return weights;
    }
}
