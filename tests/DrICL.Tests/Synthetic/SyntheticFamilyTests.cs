using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Synthetic;

public class SyntheticFamilyTests
{
    static readonly SyntheticSuite Suite = new();

    static IEnumerable<TestCaseData> Families() =>
        Suite.Families.Select(family => new TestCaseData(family).SetArgDisplayNames(family.Name));

    internal static IEnumerable<TestCaseData> FamiliesAndDifficulties() =>
        from family in Suite.Families
        from difficulty in Enumerable.Range(0, SyntheticSuite.MaxDifficulty + 1)
        select new TestCaseData(family, difficulty).SetArgDisplayNames(family.Name, $"difficulty {difficulty}");

    static SyntheticEpisodeTask Sample(ISyntheticFamily family, ulong seed, Split split, int difficulty, int examples, int queries = 4) =>
        family.Sample(new SplitMix64(seed), split, difficulty, examples, queries);

    [Test]
    public void FamiliesCoverTheRequestedKindsWithUniqueNames()
    {
        Assert.That(Suite.Families.Select(family => family.Name), Is.Unique);
        Assert.That(Suite.Families.Select(family => family.Kind).Distinct(),
            Is.EquivalentTo(new[] { "classification", "regression", "clustering", "transformation", "summarization" }));
        Assert.That(Suite.Families.Where(family => family.Metric == "rouge").Select(family => family.Kind), Is.EqualTo(new[] { "summarization" }));
        Assert.That(Suite.Families.Where(family => family.Metric != "rouge").Select(family => family.Metric), Is.All.EqualTo("accuracy"));
        Assert.That(Suite.Families.Select(family => family.Instruction.Length), Is.All.InRange(1, 12), "instructions stay short");
    }

    [TestCaseSource(nameof(FamiliesAndDifficulties))]
    public void SamplingIsAFunctionOfTheGeneratorState(ISyntheticFamily family, int difficulty)
    {
        var first = Sample(family, 11, Split.Train, difficulty, 20);
        var again = Sample(family, 11, Split.Train, difficulty, 20);
        var other = Sample(family, 12, Split.Train, difficulty, 20);
        Assert.That(again.Latent, Is.EqualTo(first.Latent));
        Assert.That(again.Task.Examples, Is.EqualTo(first.Task.Examples));
        Assert.That(again.Queries, Is.EqualTo(first.Queries));
        Assert.That(other.Task.Examples, Is.Not.EqualTo(first.Task.Examples));
    }

    [TestCaseSource(nameof(FamiliesAndDifficulties))]
    public void ExamplesAreShortSingleLineTextOfTheFamily(ISyntheticFamily family, int difficulty)
    {
        for (ulong seed = 0; seed < 20; seed++)
        {
            var sample = Sample(family, seed, seed % 2 == 0 ? Split.Train : Split.Test, difficulty, 30);
            Assert.That(sample.Task.Name, Is.EqualTo(family.Name));
            Assert.That(sample.Task.Kind, Is.EqualTo(family.Kind));
            Assert.That(sample.Task.Instruction, Is.EqualTo(family.Instruction));
            Assert.That(sample.Task.ContentProblem(), Is.Null);
            Assert.That(sample.Task.Examples, Has.Count.EqualTo(30));
            Assert.That(sample.Queries, Has.Count.EqualTo(4));
            foreach (var example in sample.Task.Examples.Concat(sample.Queries))
            {
                // "\n" and "=" are the template's markup; the longest inputs are the summaries' three sentences.
                Assert.That(example.Input, Has.Length.InRange(1, 25).And.Match("^[ -<>-~]+$"), $"input of {sample.Latent}");
                Assert.That(example.Output, Has.Length.InRange(1, 7).And.Match("^[ -<>-~]+$"), $"output of {sample.Latent}");
            }
        }
    }

    [TestCaseSource(nameof(FamiliesAndDifficulties))]
    public void AnswersFollowTheLatent(ISyntheticFamily family, int difficulty)
    {
        int checkedAnswers = 0;
        for (ulong seed = 0; seed < 20; seed++)
        {
            var sample = Sample(family, seed, seed % 2 == 0 ? Split.Train : Split.Test, difficulty, 30);
            foreach (var example in sample.Task.Examples.Concat(sample.Queries))
            {
                if (LatentOracle.Answer(family.Name, sample.Latent, example.Input, difficulty) is not { } expected) continue;
                Assert.That(example.Output, Is.EqualTo(expected), $"{sample.Latent}: {example.Input}");
                checkedAnswers++;
            }
        }
        Assert.That(checkedAnswers, Is.GreaterThan(20 * 34 / 2), "most answers are implied by the latent alone");
    }

    [TestCaseSource(nameof(FamiliesAndDifficulties))]
    public void QueriesAreHeldOutFromTheDemonstrations(ISyntheticFamily family, int difficulty)
    {
        for (ulong seed = 0; seed < 20; seed++)
        {
            var sample = Sample(family, seed, Split.Test, difficulty, 60);
            var shown = sample.Task.Examples.Select(example => example.Input).ToHashSet();
            var asked = sample.Queries.Select(query => query.Input).ToList();
            if (family is LabelMapFamily)
                // The map is per word: a query is one of the episode's words, answerable once shown.
                Assert.That(asked.Except(sample.Latent.Split(' ').Select(pair => pair.Split('=')[0])), Is.Empty);
            else
                Assert.That(asked.Where(shown.Contains), Is.Empty, $"query inputs shown as demonstrations under {sample.Latent}");
        }
    }

    [TestCaseSource(nameof(FamiliesAndDifficulties))]
    public void MoreDemonstrationsExtendFewer(ISyntheticFamily family, int difficulty)
    {
        var few = Sample(family, 5, Split.Test, difficulty, 10);
        var many = Sample(family, 5, Split.Test, difficulty, 40);
        Assert.That(many.Latent, Is.EqualTo(few.Latent));
        Assert.That(many.Queries, Is.EqualTo(few.Queries));
        Assert.That(many.Task.Examples.Take(10), Is.EqualTo(few.Task.Examples));
    }

    [TestCaseSource(nameof(FamiliesAndDifficulties))]
    public void TrainingAndTestLatentsAreDisjoint(ISyntheticFamily family, int difficulty)
    {
        HashSet<string> Latents(Split split) =>
            Enumerable.Range(0, 300).Select(seed => Sample(family, (ulong)seed, split, difficulty, examples: 1, queries: 0).Latent).ToHashSet();
        var train = Latents(Split.Train);
        var test = Latents(Split.Test);
        Assert.That(train.Select(latent => LatentSplit.Of(family.Name, latent)), Is.All.EqualTo(Split.Train));
        Assert.That(test.Select(latent => LatentSplit.Of(family.Name, latent)), Is.All.EqualTo(Split.Test));
        Assert.That(train.Intersect(test), Is.Empty);
        Assert.That(test, Has.Count.GreaterThanOrEqualTo(3), "the test side holds several latents");
    }

    [Test]
    public void LatentSplitPutsAboutOneInFourOnTheTestSide()
    {
        int test = Enumerable.Range(0, 4000).Count(i => LatentSplit.Of("any", $"latent {i}") == Split.Test);
        Assert.That(test, Is.InRange(900, 1100));
    }

    [TestCaseSource(nameof(Families))]
    public void DifficultyOutsideTheRangeIsRejected(ISyntheticFamily family)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Sample(family, 0, Split.Train, -1, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sample(family, 0, Split.Train, SyntheticSuite.MaxDifficulty + 1, 5));
    }

    [Test]
    public void CipherTestShiftsAreNeverTrainingShifts()
    {
        var cipher = new CipherFamily();
        var shifts = Enumerable.Range(1, 25).ToLookup(k => LatentSplit.Of(cipher.Name, $"shift={k}"));
        var testShifts = Enumerable.Range(0, 100).Select(seed => Sample(cipher, (ulong)seed, Split.Test, 0, 1, 0).Latent).Distinct().ToList();
        Assert.That(testShifts, Is.EquivalentTo(shifts[Split.Test].Select(k => $"shift={k}")));
        Assert.That(shifts[Split.Train].Count(), Is.GreaterThan(shifts[Split.Test].Count()));
    }
}
