using DrICL.Model;
using DrICL.Training.Studies;
using NUnit.Framework;

namespace DrICL.Tests.Studies;

public class BootstrapTests
{
    static double Gaussian(SplitMix64 random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>scores[seed][item] = mean + seed effect + item noise, all Gaussian.</summary>
    static double[][] Draw(SplitMix64 random, int seeds, int items, double mean, double seedSd, double itemSd) =>
        [.. Enumerable.Range(0, seeds).Select(_ =>
        {
            double seedEffect = seedSd * Gaussian(random);
            return Enumerable.Range(0, items).Select(_ => mean + seedEffect + itemSd * Gaussian(random)).ToArray();
        })];

    [Test]
    public void TheIntervalCoversTheTrueMeanAboutAsOftenAsItSays()
    {
        var random = new SplitMix64(7);
        int covered = 0, trials = 200;
        for (int t = 0; t < trials; t++)
            if (Bootstrap.Mean(Draw(random, seeds: 10, items: 40, mean: 0.6, seedSd: 0.05, itemSd: 0.3), seed: (ulong)t, resamples: 500).Contains(0.6)) covered++;
        // The percentile bootstrap undercovers a little with 10 clusters; a broken interval (too narrow, or one
        // stage ignored) falls far below, a degenerate wide one sits at 100%.
        Assert.That(covered / (double)trials, Is.InRange(0.85, 0.99));
    }

    [Test]
    public void WithoutSeedEffectsTheWidthMatchesTheStandardError()
    {
        var random = new SplitMix64(3);
        var scores = Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, 100).Select(_ => random.NextDouble() < 0.7 ? 1.0 : 0.0).ToArray()).ToArray();
        var interval = Bootstrap.Mean(scores);
        double expected = 2 * 1.96 * Math.Sqrt(0.7 * 0.3 / 500);
        Assert.That(interval.High - interval.Low, Is.EqualTo(expected).Within(0.25 * expected));
        Assert.That(interval.Estimate, Is.EqualTo(scores.SelectMany(s => s).Average()).Within(1e-12));
    }

    [Test]
    public void SeedEffectsWidenTheInterval()
    {
        var random = new SplitMix64(5);
        var quiet = Bootstrap.Mean(Draw(random, 5, 50, 0, seedSd: 0, itemSd: 0.3));
        var noisy = Bootstrap.Mean(Draw(random, 5, 50, 0, seedSd: 0.3, itemSd: 0.3));
        Assert.That(noisy.High - noisy.Low, Is.GreaterThan(2 * (quiet.High - quiet.Low)));
    }

    [Test]
    public void PairingCancelsTheNoiseTheArmsShare()
    {
        var random = new SplitMix64(11);
        var shared = Draw(random, seeds: 3, items: 60, mean: 0.5, seedSd: 0.2, itemSd: 0.3);
        var better = shared.Select(s => s.Select(x => x + 0.05 + 0.01 * Gaussian(random)).ToArray()).ToArray();
        var worse = shared.Select(s => s.Select(x => x + 0.01 * Gaussian(random)).ToArray()).ToArray();
        var a = Bootstrap.Mean(better);
        var b = Bootstrap.Mean(worse);
        var difference = Bootstrap.PairedDifference(better, worse);
        Assert.That(a.Low, Is.LessThan(b.High), "unpaired, the intervals overlap");
        Assert.That(difference.AboveZero, Is.True, difference.ToString());
        Assert.That(difference.Contains(0.05), Is.True, difference.ToString());
    }

    [Test]
    public void TheSameSeedGivesTheSameInterval()
    {
        var scores = Draw(new SplitMix64(1), 3, 20, 0.5, 0.1, 0.2);
        var first = Bootstrap.Mean(scores, seed: 9);
        Assert.That(Bootstrap.Mean(scores, seed: 9), Is.EqualTo(first));
        Assert.That(Bootstrap.Mean(scores, seed: 10), Is.Not.EqualTo(first));
    }

    [Test]
    public void APairedComparisonRefusesArmsOfDifferentShape()
    {
        double[][] a = [[1, 0], [1, 1]], b = [[1, 0], [1]], c = [[1, 0]];
        Assert.That(() => Bootstrap.PairedDifference(a, b), Throws.ArgumentException.With.Message.Contains("seed 1 has 2 vs 1"));
        Assert.That(() => Bootstrap.PairedDifference(a, c), Throws.ArgumentException.With.Message.Contains("same training seeds"));
        Assert.That(() => Bootstrap.Mean([[1, double.NaN]]), Throws.ArgumentException.With.Message.Contains("non-finite"));
        Assert.That(() => Bootstrap.Mean([]), Throws.ArgumentException);
    }

    [Test]
    public void IntervalsPrintTheirEstimateAndBounds()
    {
        Assert.That(new Interval(0.5123, 0.48, 0.55).ToString(), Is.EqualTo("0.512 [0.480, 0.550]"));
        Assert.That(new Interval(0.031, -0.012, 0.074).ToSignedString(), Is.EqualTo("+0.031 [-0.012, +0.074]"));
    }
}
