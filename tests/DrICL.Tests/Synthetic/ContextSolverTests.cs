using DrICL.Model;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Synthetic;

public class ContextSolverTests
{
    static readonly SyntheticSuite Suite = new();

    static IEnumerable<TestCaseData> FamiliesAndDifficulties() =>
        from family in Suite.Families
        from difficulty in Enumerable.Range(0, SyntheticSuite.MaxDifficulty + 1)
        select new TestCaseData(family, difficulty).SetArgDisplayNames(family.Name, $"difficulty {difficulty}");

    static double Accuracy(ISyntheticFamily family, int difficulty, int shots)
    {
        var solve = ContextSolvers.For(family.Name);
        int correct = 0, total = 0;
        for (ulong seed = 0; seed < 50; seed++)
        {
            var sample = family.Sample(new SplitMix64(seed), Split.Test, difficulty, shots, SyntheticSuite.QueriesPerLatent);
            foreach (var query in sample.Queries)
            {
                total++;
                if (solve(sample.Task.Examples, query.Input) == query.Output) correct++;
            }
        }
        return (double)correct / total;
    }

    /// <summary>
    /// Without shots the solver guesses; with 40 (as many as fit for most families) it recovers the held-out answers.
    /// Measured at seeds 0–49: every family and difficulty is at 93–100% with 40 shots, 0–72% without.
    /// </summary>
    [TestCaseSource(nameof(FamiliesAndDifficulties))]
    public void TheContextRevealsTheLatent(ISyntheticFamily family, int difficulty)
    {
        double zeroShot = Accuracy(family, difficulty, 0), manyShot = Accuracy(family, difficulty, 40);
        Assert.That(manyShot, Is.GreaterThanOrEqualTo(0.9), $"40-shot accuracy (0-shot {zeroShot:P0})");
        Assert.That(manyShot - zeroShot, Is.GreaterThanOrEqualTo(0.2), $"gain from 0 to 40 shots ({zeroShot:P0} to {manyShot:P0})");
    }
}
