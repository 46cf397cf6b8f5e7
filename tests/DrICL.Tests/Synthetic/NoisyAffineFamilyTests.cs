using System.Globalization;
using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Synthetic;

public class NoisyAffineFamilyTests
{
    static readonly NoisyAffineFamily Family = new();

    static SyntheticEpisodeTask Sample(ulong seed, int difficulty, int examples, int queries = 4, Split split = Split.Test) =>
        Family.Sample(new SplitMix64(seed), split, difficulty, examples, queries);

    /// <summary>"a=-2 b=7" → the rule.</summary>
    static NoisyAffineFamily.Rule Latent(SyntheticEpisodeTask task)
    {
        var parts = task.Latent.Split(' ').Select(p => int.Parse(p[2..], CultureInfo.InvariantCulture)).ToArray();
        return new NoisyAffineFamily.Rule(parts[0], parts[1]);
    }

    static int Residual(NoisyAffineFamily.Rule rule, TaskExample example) =>
        int.Parse(example.Output, CultureInfo.InvariantCulture) - rule.Apply(int.Parse(example.Input, CultureInfo.InvariantCulture));

    static IEnumerable<TaskExample> Points(params (int X, int Y)[] points) =>
        points.Select(p => new TaskExample(p.X.ToString(CultureInfo.InvariantCulture), p.Y.ToString(CultureInfo.InvariantCulture)));

    [Test]
    public void WithoutNoiseEveryExampleFollowsTheLatentRuleAndQueriesAreHeldOut()
    {
        for (ulong seed = 0; seed < 40; seed++)
        {
            var task = Sample(seed, difficulty: 0, examples: 30, split: seed % 2 == 0 ? Split.Train : Split.Test);
            var rule = Latent(task);
            Assert.That(rule.Slope, Is.InRange(-NoisyAffineFamily.MaxSlope, NoisyAffineFamily.MaxSlope));
            Assert.That(rule.Intercept, Is.InRange(-NoisyAffineFamily.MaxIntercept, NoisyAffineFamily.MaxIntercept));
            Assert.That(LatentSplit.Of(Family.Name, task.Latent), Is.EqualTo(seed % 2 == 0 ? Split.Train : Split.Test));
            Assert.That(task.Task.Examples.Concat(task.Queries).Select(e => Residual(rule, e)), Is.All.Zero);
            Assert.That(task.Task.Examples.Select(e => e.Input), Has.None.AnyOf(task.Queries.Select(q => q.Input).ToArray()));
            Assert.That(task.Task.ContentProblem(), Is.Null);
        }
    }

    /// <summary>The residuals of 20,000 draws match the discrete Gaussian's P(e = 0) and variance, computed from its definition.</summary>
    [TestCase(1)]
    [TestCase(2)]
    public void TheNoiseIsTheDiscreteGaussianOfTheDifficulty(int difficulty)
    {
        double sigma = NoisyAffineFamily.Sigma(difficulty);
        var weights = Enumerable.Range(-20, 41).ToDictionary(k => k, k => Math.Exp(-k * k / (2 * sigma * sigma)));
        double z = weights.Values.Sum();
        double expectedZero = 1 / z, expectedVariance = weights.Sum(w => w.Key * w.Key * w.Value) / z;
        var residuals = Enumerable.Range(0, 500).SelectMany(seed =>
        {
            var task = Sample((ulong)seed, difficulty, examples: 40, queries: 0);
            return task.Task.Examples.Select(e => Residual(Latent(task), e));
        }).ToArray();
        Assert.That(residuals.Average(), Is.EqualTo(0).Within(0.02));
        Assert.That(residuals.Count(r => r == 0) / (double)residuals.Length, Is.EqualTo(expectedZero).Within(0.015));
        Assert.That(residuals.Average(r => (double)r * r), Is.EqualTo(expectedVariance).Within(0.05 * expectedVariance));
    }

    [Test]
    public void TheFitIsTheIntegerLeastSquaresRuleOverTheWholeGrid()
    {
        var grid = (from a in Enumerable.Range(-3, 7) from b in Enumerable.Range(-9, 19) select new NoisyAffineFamily.Rule(a, b)).ToList();
        for (ulong seed = 0; seed < 200; seed++)
        {
            var demonstrations = Sample(seed, difficulty: 2, examples: 1 + (int)(seed % 8), queries: 0).Task.Examples;
            long Squares(NoisyAffineFamily.Rule rule) => demonstrations.Sum(d => (long)Residual(rule, d) * Residual(rule, d));
            Assert.That(Squares(NoisyAffineFamily.Fit(demonstrations)), Is.EqualTo(grid.Min(Squares)), $"seed {seed}");
        }
    }

    [Test]
    public void TheFitOfHandPickedPoints()
    {
        Assert.That(NoisyAffineFamily.Fit([.. Points((0, 1), (2, 5), (4, 9))]), Is.EqualTo(new NoisyAffineFamily.Rule(2, 1)));
        Assert.That(NoisyAffineFamily.Fit([.. Points((1, 30), (2, 31))]), Is.EqualTo(new NoisyAffineFamily.Rule(3, 9)), "the intercept stops at 9 and the steepest slope comes closest");
        Assert.That(NoisyAffineFamily.Fit([]), Is.EqualTo(new NoisyAffineFamily.Rule(0, 0)));
        Assert.That(NoisyAffineFamily.FitAndApply([.. Points((1, -1), (3, -7))], "5"), Is.EqualTo("-13"));
    }

    /// <summary>
    /// The maximum-likelihood fit recovers the latent rule: exactly without noise once two distinct digits are shown,
    /// and at the highest noise in most episodes with 40 shots, far more often than with 2.
    /// </summary>
    [Test]
    public void TheMaximumLikelihoodFitRecoversTheLatent()
    {
        int Recovered(int difficulty, int shots) => Enumerable.Range(0, 200).Count(seed =>
        {
            var task = Sample((ulong)seed, difficulty, shots);
            return NoisyAffineFamily.Fit(task.Task.Examples) == Latent(task);
        });
        for (ulong seed = 0; seed < 100; seed++)
        {
            var task = Sample(seed, difficulty: 0, examples: 8);
            if (task.Task.Examples.Select(e => e.Input).Distinct().Count() >= 2)
                Assert.That(NoisyAffineFamily.Fit(task.Task.Examples), Is.EqualTo(Latent(task)), $"seed {seed}");
        }
        int few = Recovered(2, 2), many = Recovered(2, 40);
        Assert.That(many, Is.GreaterThanOrEqualTo(190), $"40 shots at σ=0.8 (2 shots: {few})");
        Assert.That(few, Is.LessThan(100), "2 noisy shots rarely pin the rule down");
    }

    [Test]
    public void ThePlugInAnswerApproachesTheNoiseCeilingWithShots()
    {
        double Accuracy(int shots) => Enumerable.Range(0, 300).Average(seed =>
        {
            var task = Sample((ulong)seed, difficulty: 1, shots);
            return task.Queries.Average(q => NoisyAffineFamily.FitAndApply(task.Task.Examples, q.Input) == q.Output ? 1.0 : 0.0);
        });
        double one = Accuracy(1), four = Accuracy(4), thirtyTwo = Accuracy(32);
        Assert.That(four, Is.GreaterThan(one + 0.1));
        Assert.That(thirtyTwo, Is.GreaterThan(four));
        // At σ=0.5 a perfect learner is right when the noise is 0: 1 / (1 + 2e^-2 + 2e^-8 + …) ≈ 0.786.
        Assert.That(thirtyTwo, Is.EqualTo(0.786).Within(0.04));
    }

    /// <summary>
    /// The Bayes solver (Solve) answers noise-free episodes exactly once two digits are shown, rises with shots at σ=0.5,
    /// and stays within sampling noise of the maximum-likelihood plug-in or above it. Measured over 300 episodes at
    /// k = 1, 2, 16: Bayes 0.198, 0.591, 0.782; plug-in 0.212, 0.570, 0.782 (its prior mixes three noise levels, the
    /// episodes have one).
    /// </summary>
    [Test]
    public void TheBayesSolverIsExactWithoutNoiseAndAtLeastTheFitWithIt()
    {
        for (ulong seed = 0; seed < 50; seed++)
        {
            var task = Sample(seed, difficulty: 0, examples: 6);
            if (task.Task.Examples.Select(e => e.Input).Distinct().Count() >= 2)
                Assert.That(task.Queries.Select(q => Family.Solve(task.Task.Examples, q.Input)), Is.EqualTo(task.Queries.Select(q => q.Output)), $"seed {seed}");
        }
        double Accuracy(Func<IReadOnlyList<TaskExample>, string, string> learner, int shots) => Enumerable.Range(0, 300).Average(seed =>
        {
            var task = Sample((ulong)seed, difficulty: 1, shots);
            return task.Queries.Average(q => learner(task.Task.Examples, q.Input) == q.Output ? 1.0 : 0.0);
        });
        var bayes = new[] { 1, 2, 16 }.Select(k => Accuracy(Family.Solve, k)).ToArray();
        var fit = new[] { 1, 2, 16 }.Select(k => Accuracy(NoisyAffineFamily.FitAndApply, k)).ToArray();
        string measured = $"Bayes {string.Join(", ", bayes.Select(a => a.ToString("F3", CultureInfo.InvariantCulture)))}; fit {string.Join(", ", fit.Select(a => a.ToString("F3", CultureInfo.InvariantCulture)))}";
        Assert.That(bayes[1], Is.GreaterThan(bayes[0]), measured);
        Assert.That(bayes[2], Is.GreaterThan(bayes[1]), measured);
        for (int i = 0; i < 3; i++) Assert.That(bayes[i], Is.GreaterThanOrEqualTo(fit[i] - 0.02), measured);
    }
}
