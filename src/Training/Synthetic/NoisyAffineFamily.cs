using System.Globalization;
using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// A noisy affine rule over small integers, the amortization family: per episode a slope a in [-3, 3] and an intercept
/// b in [-9, 9]; an input is a digit x written "7", its answer the integer y = a·x + b + e written "-12", where the
/// noise e is a discrete Gaussian, P(e = k) ∝ exp(-k² / 2σ²) over all integers. A learner has to infer (a, b) from the
/// demonstrations and apply it to the query: the amortized inference that the meta-learning view of ICL describes.
/// Difficulty: σ = 0 (noise-free), 0.5, 0.8. Queries are held-out inputs (a query's digit never appears among the
/// demonstrations). Not one of the suite's eight default families: the meta-learners study mixes it in.
/// </summary>
public sealed class NoisyAffineFamily : ISyntheticFamily
{
    public const int MaxSlope = 3;
    public const int MaxIntercept = 9;
    static readonly double[] SigmaAt = [0, 0.5, 0.8];

    /// <summary>Noise values tabulated on each side. At σ ≤ 0.8 the mass beyond 12 is below 1e-48, far under a double's
    /// resolution next to 1, so sampling from the table is sampling from the untruncated distribution.</summary>
    const int NoiseTable = 12;

    public string Name => "noisy-affine";
    public string Instruction => "Affine.";
    public string Kind => "regression";
    public string Metric => "accuracy";

    /// <summary>The per-episode latent: y = Slope·x + Intercept before noise.</summary>
    public readonly record struct Rule(int Slope, int Intercept)
    {
        public int Apply(int x) => Slope * x + Intercept;
        public override string ToString() => $"a={Slope} b={Intercept}";
    }

    public static double Sigma(int difficulty)
    {
        SyntheticSuite.CheckDifficulty(difficulty);
        return SigmaAt[difficulty];
    }

    /// <summary>P(e = 0): how often even the true rule's noise-free value is the answer, the ceiling of any learner's accuracy.</summary>
    public static double NoiselessShare(int difficulty)
    {
        double sigma = Sigma(difficulty);
        return sigma == 0 ? 1 : 1 / NoiseWeights(sigma).Sum();
    }

    public SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries)
    {
        double sigma = Sigma(difficulty);
        var rule = LatentSplit.Draw(Name, split, () => new Rule(random.NextInt(2 * MaxSlope + 1) - MaxSlope, random.NextInt(2 * MaxIntercept + 1) - MaxIntercept),
            r => r.ToString());
        return HeldOutExamples.Draw(this, rule.ToString(), () => Example(random, rule, sigma), examples, queries);
    }

    static TaskExample Example(SplitMix64 random, Rule rule, double sigma)
    {
        int x = random.NextInt(10);
        return new TaskExample(x.ToString(CultureInfo.InvariantCulture), (rule.Apply(x) + Noise(random, sigma)).ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A draw of the discrete Gaussian by inverting its cumulative distribution over [-12, 12].</summary>
    static int Noise(SplitMix64 random, double sigma)
    {
        if (sigma == 0) return 0;
        var weights = NoiseWeights(sigma);
        double u = random.NextDouble() * weights.Sum();
        for (int i = 0; i < weights.Length; i++)
        {
            u -= weights[i];
            if (u < 0) return i - NoiseTable;
        }
        return NoiseTable;
    }

    /// <summary>
    /// Exact Bayes (see <see cref="ISyntheticFamily.Solve"/>), up to the noise table's 1e-48 tail: a uniform prior over
    /// σ (the difficulty), the slope and the intercept; every rule gives each input the same chance, so a hypothesis
    /// (σ, a, b, the query's noise e) weighs Π P_σ(y_i - a·x_i - b) · P_σ(e), and its answer is a·x + b + e. Unlike
    /// <see cref="FitAndApply"/> it averages over every rule the demonstrations allow and over the noise levels, which
    /// matters with few shots.
    /// </summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        var points = Parse(demonstrations);
        int query = int.Parse(queryInput, CultureInfo.InvariantCulture);
        var hypotheses = new List<(string, double)>();
        for (int difficulty = 0; difficulty <= SyntheticSuite.MaxDifficulty; difficulty++)
        {
            double sigma = Sigma(difficulty);
            double logZ = sigma == 0 ? 0 : Math.Log(NoiseWeights(sigma).Sum());
            double LogChance(int e) => sigma == 0 ? (e == 0 ? 0 : double.NegativeInfinity) : -e * e / (2 * sigma * sigma) - logZ;
            for (int a = -MaxSlope; a <= MaxSlope; a++)
                for (int b = -MaxIntercept; b <= MaxIntercept; b++)
                {
                    var rule = new Rule(a, b);
                    double log = points.Sum(p => LogChance(p.Y - rule.Apply(p.X)));
                    if (double.IsNegativeInfinity(log)) continue;
                    for (int e = sigma == 0 ? 0 : -NoiseTable; e <= (sigma == 0 ? 0 : NoiseTable); e++)
                        hypotheses.Add(((rule.Apply(query) + e).ToString(CultureInfo.InvariantCulture), log + LogChance(e)));
                }
        }
        return LatentPosterior.MostProbableAnswer(hypotheses, Name);
    }

    static (int X, int Y)[] Parse(IReadOnlyList<TaskExample> demonstrations) =>
        [.. demonstrations.Select(d => (int.Parse(d.Input, CultureInfo.InvariantCulture), int.Parse(d.Output, CultureInfo.InvariantCulture)))];

    /// <summary>exp(-k² / 2σ²) for k = -12 … 12.</summary>
    static double[] NoiseWeights(double sigma) =>
        [.. Enumerable.Range(-NoiseTable, 2 * NoiseTable + 1).Select(k => Math.Exp(-k * k / (2 * sigma * sigma)))];

    /// <summary>
    /// The maximum-likelihood rule given the demonstrations, whatever σ: the discrete Gaussian's normalizer does not
    /// depend on the rule (its mean a·x + b is an integer), so the log-likelihood is -Σ (y - a·x - b)² / 2σ² plus a
    /// constant and the fit is integer least squares. In closed form per slope: the sum of squares is a parabola in b,
    /// minimized over the integers by the floor or the ceiling of the mean residual mean(y - a·x), clamped to the range;
    /// the slope is the best of the seven. Ties go to the smaller slope, then the smaller intercept. With no
    /// demonstrations every rule fits equally and the fit is y = 0.
    /// </summary>
    public static Rule Fit(IReadOnlyList<TaskExample> demonstrations)
    {
        if (demonstrations.Count == 0) return new Rule(0, 0);
        var points = Parse(demonstrations);
        var best = new Rule(0, 0);
        long bestSquares = long.MaxValue;
        for (int a = -MaxSlope; a <= MaxSlope; a++)
        {
            double meanResidual = points.Average(p => (double)(p.Y - a * p.X));
            foreach (double candidate in new[] { Math.Floor(meanResidual), Math.Ceiling(meanResidual) })
            {
                var rule = new Rule(a, (int)Math.Clamp(candidate, -MaxIntercept, MaxIntercept));
                long squares = points.Sum(p => (long)(p.Y - rule.Apply(p.X)) * (p.Y - rule.Apply(p.X)));
                if (squares < bestSquares) (best, bestSquares) = (rule, squares);
            }
        }
        return best;
    }

    /// <summary>The maximum-likelihood plug-in learner: fit the rule, answer the query with its noise-free value.</summary>
    public static string FitAndApply(IReadOnlyList<TaskExample> demonstrations, string queryInput) =>
        Fit(demonstrations).Apply(int.Parse(queryInput, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
}
