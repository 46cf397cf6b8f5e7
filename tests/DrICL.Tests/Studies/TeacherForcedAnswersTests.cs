using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Evaluation;
using DrICL.Training.Objectives;
using DrICL.Training.Studies;
using DrICL.Training.Studies.MetaLearners;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Studies;

public class TeacherForcedAnswersTests
{
    /// <summary>
    /// A tiny model trained for a few dozen steps on the prototype and noisy-affine families answers in their formats
    /// (one letter; an integer of one to three bytes) but often wrongly: over 96 episodes of mixed lengths, scored in
    /// padded batches, its one-pass scores equal the exact match of its greedy generations, right and wrong answers
    /// both among them.
    /// </summary>
    [Test]
    public void OnePassScoresAreGreedyDecodingsExactMatch()
    {
        var tokenizer = new ByteTokenizer();
        var config = new ModelConfig(vocabSize: 259, hiddenSize: 32, intermediateSize: 96, layers: 1, heads: 2, maxPositionEmbeddings: 96);
        var model = ModelInit.Random(config, CpuDevice.Instance, 3);
        var suite = new SyntheticSuite([new PrototypeFamily(), new NoisyAffineFamily()]);
        StudyTraining.Train(model, ObjectiveCatalog.Create("it", new DrIclOptions()), p => suite.TrainingBatch(p, 4, 96, 5, tokenizer), 60, 1e-2f);

        var builder = new EpisodeBuilder(tokenizer, SyntheticSuite.Template);
        var episodes = suite.Families.SelectMany(family =>
        {
            var items = new EvaluationItems(family, 9, seeds: 1, itemsPerSeed: 16, maxShots: 8, difficulty: 0);
            return new[] { 1, 3, 8 }.SelectMany(k => items.Episodes(0, k, builder, 96)!);
        }).ToList();
        double[] scores = [.. TeacherForcedAnswers.Score(model, episodes).Select(answers => answers[^1].Correct ? 1.0 : 0.0)];
        var greedy = episodes.Select(e => KShotEvaluator.Answer(model, tokenizer, e, maxAnswerTokens: 8) == e.QueryAnswer ? 1.0 : 0.0).ToArray();
        Assert.That(scores, Is.EqualTo(greedy));
        Assert.That(scores, Has.Some.EqualTo(1.0).And.Some.EqualTo(0.0));
    }
}
