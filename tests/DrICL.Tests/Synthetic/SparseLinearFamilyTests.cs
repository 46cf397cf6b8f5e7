using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Synthetic;

public class SparseLinearFamilyTests
{
    static readonly SparseLinearFamily Family = new();
    static readonly int[] Difficulties = [.. Enumerable.Range(SparseLinearFamily.MinDifficulty, SparseLinearFamily.MaxDifficulty - SparseLinearFamily.MinDifficulty + 1)];

    static int[] Weights(string latent) => [.. latent["w=".Length..].Split(',').Select(int.Parse)];

    [TestCaseSource(nameof(Difficulties))]
    public void TheLatentHasDifficultyNonZeroWeightsAndAnswersAreItsDotProducts(int difficulty)
    {
        for (ulong seed = 0; seed < 20; seed++)
        {
            var sample = Family.Sample(new SplitMix64(seed), seed % 2 == 0 ? Split.Train : Split.Test, difficulty, 30, queries: 4);
            var w = Weights(sample.Latent);
            Assert.That(w.Count(v => v != 0), Is.EqualTo(difficulty), sample.Latent);
            Assert.That(w.Where(v => v != 0).Distinct(), Is.SubsetOf(SparseLinearFamily.WeightValues));
            foreach (var example in sample.Task.Examples.Concat(sample.Queries))
            {
                var x = SparseLinearFamily.ParseInput(example.Input);
                Assert.That(SparseLinearFamily.Input(x), Is.EqualTo(example.Input));
                Assert.That(example.Output, Is.EqualTo(SparseLinearFamily.Answer(SparseLinearFamily.Dot(w, x))));
            }
            Assert.That(sample.Task.Examples.Select(e => e.Input), Has.No.AnyOf(sample.Queries.Select(q => q.Input).ToArray()), "queries are held out");
        }
    }

    [Test]
    public void AnswersAreSignedIntegersAndBadDifficultiesOrInputsAreRejected()
    {
        Assert.That(new[] { 3, -1, 0 }.Select(SparseLinearFamily.Answer), Is.EqualTo(new[] { "+3", "-1", "0" }));
        Assert.That(SparseLinearFamily.Input([1, 0, -1, 1]), Is.EqualTo("+0-+"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Family.Sample(new SplitMix64(1), Split.Train, 0, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Family.Sample(new SplitMix64(1), Split.Train, SparseLinearFamily.MaxDifficulty + 1, 1, 1));
        Assert.Throws<FormatException>(() => SparseLinearFamily.ParseInput("+0-"));
        Assert.Throws<FormatException>(() => SparseLinearFamily.ParseInput("+0-2"));
    }

    static double Accuracy(int difficulty, int shots)
    {
        int correct = 0, total = 0;
        for (ulong seed = 0; seed < 50; seed++)
        {
            var sample = Family.Sample(new SplitMix64(seed), Split.Test, difficulty, shots, queries: 4);
            foreach (var query in sample.Queries)
            {
                total++;
                if (Family.Solve(sample.Task.Examples, query.Input) == query.Output) correct++;
            }
        }
        return (double)correct / total;
    }

    /// <summary>
    /// The family's solver (the posterior over every weight vector, difficulty unknown) on 200 held-out queries:
    /// more shots, more accurate, and exact once 12 shots pin the weights down.
    /// </summary>
    [TestCaseSource(nameof(Difficulties))]
    public void TheSolversAccuracyRisesWithShots(int difficulty)
    {
        var accuracy = new[] { 0, 2, 12 }.Select(shots => Accuracy(difficulty, shots)).ToArray();
        string measured = $"k=0: {accuracy[0]:F3}, k=2: {accuracy[1]:F3}, k=12: {accuracy[2]:F3}";
        Assert.That(accuracy, Is.Ordered.Ascending, measured);
        Assert.That(accuracy[2], Is.GreaterThan(accuracy[0] + 0.3), measured);
        Assert.That(accuracy[2], Is.GreaterThanOrEqualTo(0.95), measured);
    }

    [Test]
    public void ThePosteriorIsADistributionThatCollapsesOnTheLatentsAnswer()
    {
        var posterior = new SparseLinearPosterior([SparseLinearFamily.MaxDifficulty]);
        var sample = Family.Sample(new SplitMix64(5), Split.Test, SparseLinearFamily.MaxDifficulty, 40, queries: 4);
        foreach (var query in sample.Queries)
        {
            var prior = posterior.Predictive([], query.Input);
            Assert.That(prior.Sum(), Is.EqualTo(1).Within(1e-12));
            Assert.That(prior.Count(p => p > 0), Is.GreaterThan(1), "without demonstrations several answers are possible");
            Assert.That(posterior.Loss(sample.Task.Examples, query), Is.EqualTo(0).Within(1e-12), "40 equations identify w");
            Assert.That(posterior.Loss([], query), Is.GreaterThan(0.3));
        }
        TaskExample[] contradictory = [new("+000", "+1"), new("+000", "-1")];
        Assert.That(() => posterior.Solve(contradictory, "0+00"), Throws.ArgumentException);
    }
}
