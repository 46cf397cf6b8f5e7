using DrICL.Tests.Data;
using DrICL.Training;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Synthetic;

public class SyntheticSuiteTests
{
    const int Context = 512;
    static readonly ByteTokenizer Bytes = new();
    static readonly EpisodeBuilder Builder = new(Bytes, SyntheticSuite.Template);
    static readonly SyntheticSuite Suite = new();

    static IEnumerable<TestCaseData> Families() =>
        Suite.Families.Select(family => new TestCaseData(family).SetArgDisplayNames(family.Name));

    static void CheckLayout(Episode episode)
    {
        int supervised = LayoutInvariants.Check(episode.InputIds, episode.Labels, episode.DemoIds, episode.SegmentIds,
            episode.PositionIds, Bytes.BosId, Bytes.EosId, cutAtEnd: false);
        Assert.That(supervised, Is.EqualTo(episode.DemonstrationCount));
        Assert.That(Bytes.Decode(episode.InputIds), Is.EqualTo(episode.Text), "the ids decode back to the episode text");
    }

    [Test]
    public void TrainingEpisodesAreAFunctionOfSeedAndIndex()
    {
        for (long index = 0; index < 16; index++)
        {
            var episode = Suite.TrainingEpisode(index, 7, Builder, Context);
            var again = new SyntheticSuite().TrainingEpisode(index, 7, new EpisodeBuilder(Bytes), Context);
            Assert.That(again.Text, Is.EqualTo(episode.Text), $"episode {index}");
            Assert.That(again.InputIds, Is.EqualTo(episode.InputIds));
            Assert.That(again.Labels, Is.EqualTo(episode.Labels));
            Assert.That(Suite.TrainingEpisode(index, 8, Builder, Context).Text, Is.Not.EqualTo(episode.Text), "another seed, another episode");
        }
        Assert.That(Suite.TrainingEpisode(8, 7, Builder, Context).Text, Is.Not.EqualTo(Suite.TrainingEpisode(0, 7, Builder, Context).Text));
    }

    [Test]
    public void TrainingEpisodesFillTheContextAndFollowTheLayout()
    {
        for (long index = 0; index < 6 * Suite.Families.Count; index++)
        {
            var episode = Suite.TrainingEpisode(index, 3, Builder, Context);
            var family = Suite.Families[(int)(index % Suite.Families.Count)];
            Assert.That(episode.Text, Does.StartWith(family.Instruction + "\n"), "families take turns");
            Assert.That(episode.Length, Is.InRange(Context - 40, Context), "the episode is filled up to its budget");
            Assert.That(episode.DroppedDemonstrations, Is.Positive, "more demonstrations were drawn than fit");
            CheckLayout(episode);
        }
    }

    [TestCaseSource(nameof(Families))]
    public void ZeroShotEvaluationIsTheInstructionAndTheQuery(ISyntheticFamily family)
    {
        var (episode, expected, returned) = Suite.EvaluationEpisode(family, 0, seed: 1, queryIndex: 2, Builder, Context);
        Assert.That(returned, Is.SameAs(family));
        Assert.That(episode.DemonstrationCount, Is.EqualTo(1));
        Assert.That(episode.QueryAnswer, Is.EqualTo(expected));
        Assert.That(episode.Text, Does.Match($"^{System.Text.RegularExpressions.Regex.Escape(family.Instruction)}\n[^\n=]+={System.Text.RegularExpressions.Regex.Escape(expected)}$"));
        Assert.That(episode.InputIds[episode.Query.EosPosition], Is.EqualTo(Bytes.EosId));
        CheckLayout(episode);
    }

    [TestCaseSource(nameof(Families))]
    public void EvaluationShotsAreNestedAndPoseTheSameQuery(ISyntheticFamily family)
    {
        var (few, expected, _) = Suite.EvaluationEpisode(family, 3, seed: 4, queryIndex: 1, Builder, Context);
        var (more, sameExpected, _) = Suite.EvaluationEpisode(family, 10, seed: 4, queryIndex: 1, Builder, Context);
        var (zero, zeroExpected, _) = Suite.EvaluationEpisode(family, 0, seed: 4, queryIndex: 1, Builder, Context);
        Assert.That(sameExpected, Is.EqualTo(expected));
        Assert.That(zeroExpected, Is.EqualTo(expected));
        Assert.That(few.DemonstrationCount, Is.EqualTo(4));
        Assert.That(more.DemonstrationCount, Is.EqualTo(11));
        string query = zero.Text[family.Instruction.Length..];
        Assert.That(few.Text, Does.EndWith(query));
        Assert.That(more.Text, Does.EndWith(query));
        string fewShots = few.Text[..^query.Length];
        Assert.That(more.Text, Does.StartWith(fewShots), "the 3 shots are the first 3 of the 10");
        CheckLayout(more);

        var (other, _, _) = Suite.EvaluationEpisode(family, 10, seed: 4, queryIndex: 3, Builder, Context);
        Assert.That(other.Text[..other.Answers[^2].CharEnd], Is.EqualTo(more.Text[..more.Answers[^2].CharEnd]), "another query of the same latent");
    }

    /// <summary>Label-map queries are draws over the episode's words, shown or not: the others hold their inputs out.</summary>
    static IEnumerable<TestCaseData> FamiliesWithHeldOutInputs() => Families().Where(data => data.Arguments[0] is not LabelMapFamily);

    [TestCaseSource(nameof(FamiliesWithHeldOutInputs))]
    public void EvaluationQueriesAreNotAmongTheirDemonstrations(ISyntheticFamily family)
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var (episode, _, _) = Suite.EvaluationEpisode(family, 40, seed, queryIndex: 0, Builder, 4096);
            var lines = episode.Text.Split('\n').Skip(1).Select(line => line[..line.IndexOf('=')]).ToList();
            Assert.That(lines[..^1], Does.Not.Contain(lines[^1]));
        }
    }

    [Test]
    public void EvaluationShotsThatDoNotFitAreReportedAsDropped()
    {
        var cipher = Suite.Families.Single(family => family is CipherFamily);
        var (episode, expected, _) = Suite.EvaluationEpisode(cipher, 100, seed: 0, queryIndex: 0, Builder, Context);
        Assert.That(episode.Length, Is.LessThanOrEqualTo(Context));
        Assert.That(episode.DroppedDemonstrations, Is.Positive);
        Assert.That(episode.DemonstrationCount + episode.DroppedDemonstrations, Is.EqualTo(101));
        Assert.That(episode.QueryAnswer, Is.EqualTo(expected));
        Assert.Throws<ArgumentOutOfRangeException>(() => Suite.EvaluationEpisode(cipher, 1, 0, SyntheticSuite.QueriesPerLatent, Builder, Context));
    }

    /// <summary>Many-shot needs short demonstrations: at the hardest level a 512-byte context holds dozens of shots.</summary>
    [TestCaseSource(nameof(Families))]
    public void ManyShotsFitInTheContext(ISyntheticFamily family)
    {
        var shots = Enumerable.Range(0, 10).Select(seed =>
        {
            var (episode, _, _) = Suite.EvaluationEpisode(family, 200, seed, 0, Builder, Context);
            return episode.DemonstrationCount - 1;
        }).ToList();
        Assert.That(shots.Min(), Is.GreaterThanOrEqualTo(family is ExtractiveSummaryFamily ? 12 : 35), $"{shots.Min()}–{shots.Max()} shots");
    }

    [Test]
    public void TrainingBatchHoldsOneEpisodePerRow()
    {
        const int Rows = 3, Seq = 256;
        var batch = Suite.TrainingBatch(position: 5, Rows, Seq, seed: 9, Bytes);
        batch.Validate();
        Assert.That((batch.Batch, batch.Seq, batch.SequenceIds), Is.EqualTo((Rows, Seq, (int[]?)null)));
        for (int row = 0; row < Rows; row++)
        {
            var episode = Suite.TrainingEpisode(5 * Rows + row, 9, Builder, Seq);
            int at = row * Seq, n = episode.Length;
            Assert.That(batch.InputIds[at..(at + n)], Is.EqualTo(episode.InputIds), $"row {row}");
            Assert.That(batch.Labels[at..(at + n)], Is.EqualTo(episode.Labels));
            Assert.That(batch.DemoIds[at..(at + n)], Is.EqualTo(episode.DemoIds));
            Assert.That(batch.SegmentIds[at..(at + n)], Is.EqualTo(episode.SegmentIds));
            Assert.That(batch.PositionIds[at..(at + n)], Is.EqualTo(episode.PositionIds));
            for (int t = at; t < at + Seq; t++)
            {
                if (t >= at + n)
                {
                    Assert.That((batch.InputIds[t], batch.Labels[t], batch.DemoIds[t], batch.SegmentIds[t], batch.PositionIds[t]),
                        Is.EqualTo((ByteTokenizer.PadId, TokenBatch.IgnoreIndex, 0, 0, 0)), $"padding at {t}");
                    continue;
                }
                if (batch.Labels[t] != TokenBatch.IgnoreIndex)
                    Assert.That(batch.Labels[t], Is.EqualTo(batch.InputIds[t + 1]), $"label at {t} is the next token");
            }
        }
        Assert.That(Suite.TrainingBatch(5, Rows, Seq, 9, Bytes).InputIds, Is.EqualTo(batch.InputIds), "batches are a function of the position");
        Assert.That(Suite.TrainingBatch(6, Rows, Seq, 9, Bytes).InputIds, Is.Not.EqualTo(batch.InputIds));
    }
}
