using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Training;
using DrICL.Training.Data;
using DrICL.Training.Objectives;
using DrICL.Training.Studies;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Studies.Curriculum;

public class SparseLinearEpisodesTests
{
    static readonly ByteTokenizer Bytes = new();

    /// <summary>Every answer y of every row's episode ("Linear.\n+0-+=+1\n…").</summary>
    static IEnumerable<int> Answers(TokenBatch batch) =>
        Enumerable.Range(0, batch.Batch)
            .SelectMany(row => Bytes.Decode(batch.InputIds.AsSpan(row * batch.Seq, batch.Seq), skipSpecialTokens: true).Split('\n').Skip(1))
            .Select(line => int.Parse(line[(line.IndexOf('=') + 1)..]));

    [TestCase(64, 5)]
    [TestCase(128, 12)]
    public void EpisodesHoldAsManyShotsAsTheLongestDemonstrationsAllow(int context, int shots)
    {
        var episodes = new SparseLinearEpisodes(context);
        Assert.That(episodes.Shots, Is.EqualTo(shots));
        for (int i = 0; i < 50; i++)
        {
            Assert.That(episodes.Training(i, 3, SparseLinearFamily.MaxDifficulty).DemonstrationCount, Is.EqualTo(shots + 1));
            var item = episodes.Evaluation(3, i);
            Assert.That(item.Episode.DemonstrationCount, Is.EqualTo(shots + 1));
            Assert.That(item.Episode.QueryAnswer, Is.EqualTo(item.Query.Output));
        }
    }

    /// <summary>
    /// The curriculum arm's batches differ from the other arm's only in the number of non-zero weights: early on one
    /// (so |y| is at most the largest weight), after the ramp all, and then the very same episodes as without a curriculum.
    /// </summary>
    [Test]
    public void CurriculumBatchesRampTheNonZeroWeightsThenMatchTheOtherArm()
    {
        var episodes = new SparseLinearEpisodes(128);
        var curriculum = episodes.Curriculum(0.5);
        const int Rows = 8, Total = 100;
        int largestWeight = SparseLinearFamily.WeightValues.Max(Math.Abs);
        Assert.That(Answers(episodes.Batch(0, Rows, 7, curriculum, Total)).Select(Math.Abs), Is.All.LessThanOrEqualTo(largestWeight));
        Assert.That(Answers(episodes.Batch(0, Rows, 7, null, Total)).Select(Math.Abs), Has.Some.GreaterThan(largestWeight));
        foreach (int position in new[] { 50, 99 })
            Assert.That(episodes.Batch(position, Rows, 7, curriculum, Total).InputIds, Is.EqualTo(episodes.Batch(position, Rows, 7, null, Total).InputIds));
        Assert.That(episodes.Batch(3, Rows, 7, null, Total).InputIds, Is.Not.EqualTo(episodes.Batch(3, Rows, 8, null, Total).InputIds), "the data seed matters");
    }

    [Test]
    public void EvaluationItemsDependOnlyOnTheirSeedAndIndex()
    {
        var episodes = new SparseLinearEpisodes(64);
        Assert.That(episodes.Evaluation(11, 4).Episode.Text, Is.EqualTo(new SparseLinearEpisodes(64).Evaluation(11, 4).Episode.Text));
        Assert.That(episodes.Evaluation(11, 4).Episode.Text, Is.Not.EqualTo(episodes.Evaluation(11, 5).Episode.Text));
        Assert.That(episodes.Evaluation(11, 4).Episode.Text, Is.Not.EqualTo(episodes.Evaluation(12, 4).Episode.Text));
    }

    /// <summary>
    /// A tiny model trained for a few dozen steps writes answers in the format ("0", "+1", "-2") but often wrong ones: on
    /// every answer of 16 items, the one-pass scores equal the exact match of greedy generation, right and wrong both
    /// among them, and the answers' summed NLL over the supervised positions is instruction tuning's loss.
    /// </summary>
    [Test]
    public void OnePassScoresAreGreedyDecodingsExactMatchAndTheItLoss()
    {
        var config = new ModelConfig(vocabSize: 259, hiddenSize: 32, intermediateSize: 96, layers: 1, heads: 2, maxPositionEmbeddings: 64);
        var model = ModelInit.Random(config, CpuDevice.Instance, 3);
        var episodes = new SparseLinearEpisodes(64);
        StudyTraining.Train(model, new InstructionTuning(), p => episodes.Batch(p, 4, 5, null, 60), 60, 1e-2f);

        var items = Enumerable.Range(0, 16).Select(i => episodes.Evaluation(9, i).Episode).ToList();
        var scores = TeacherForcedAnswers.Score(model, items, 64);
        var correct = new List<bool>();
        for (int i = 0; i < items.Count; i++)
        {
            var episode = items[i];
            for (int d = 0; d < episode.DemonstrationCount; d++)
            {
                var answer = episode.Answers[d];
                var prompt = episode.InputIds[..answer.TokenStart];
                var generated = Generation.Generate(model, prompt, answer.EosPosition - answer.TokenStart + 1, new SamplingOptions(), Bytes.EosId).ToArray();
                Assert.That(scores[i][d].Correct, Is.EqualTo(generated.SequenceEqual(episode.InputIds[answer.TokenStart..(answer.EosPosition + 1)])), $"item {i}, answer {d}");
                correct.Add(scores[i][d].Correct);
            }
            var batch = TokenBatch.OneEpisodePerRow([episode], 64);
            int supervised = batch.Labels.Count(label => label != TokenBatch.IgnoreIndex);
            Assert.That(scores[i].Sum(s => s.Loss) / supervised, Is.EqualTo(new InstructionTuning().Run(model, batch, backward: false).Loss).Within(1e-4));
        }
        Assert.That(correct, Has.Some.True.And.Some.False);
    }
}
