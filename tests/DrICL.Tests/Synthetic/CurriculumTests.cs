using DrICL.Training.Data;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Synthetic;

public class CurriculumTests
{
    static readonly ByteTokenizer Bytes = new();

    [Test]
    public void ShotsAndDifficultyRampLinearlyThenHold()
    {
        var curriculum = new Curriculum(RampFraction: 0.5, StartShots: 4, EndShots: 44, StartDifficulty: 0, EndDifficulty: 2);
        Assert.That(curriculum.At(0, 1000), Is.EqualTo((4, 0)));
        Assert.That(curriculum.At(250, 1000), Is.EqualTo((24, 1)), "half way up the ramp");
        Assert.That(curriculum.At(166, 1000), Is.EqualTo((17, 0)), "each difficulty holds a third of the ramp");
        Assert.That(curriculum.At(167, 1000).MaxDifficulty, Is.EqualTo(1));
        Assert.That(curriculum.At(334, 1000).MaxDifficulty, Is.EqualTo(2));
        Assert.That(curriculum.At(500, 1000), Is.EqualTo((44, 2)), "the end of the ramp");
        Assert.That(curriculum.At(999, 1000), Is.EqualTo((44, 2)), "held after the ramp");
        var steps = Enumerable.Range(0, 1000).Select(i => curriculum.At(i, 1000)).ToList();
        Assert.That(steps.Select(s => s.MaxShots), Is.Ordered);
        Assert.That(steps.Select(s => s.MaxDifficulty), Is.Ordered);
    }

    [Test]
    public void InvalidCurriculaAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Curriculum(0, 1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Curriculum(1.5, 1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Curriculum(0.5, 0, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Curriculum(0.5, 10, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Curriculum(0.5, 1, 10, 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Curriculum(0.5, 1, 10, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SyntheticSuite().TrainingEpisode(0, 1, new(Bytes, SyntheticSuite.Template), 256,
            new Curriculum(0.5, 1, 10, 0, SyntheticSuite.MaxDifficulty + 1), 100), "beyond the suite's difficulties");
        Assert.Throws<ArgumentOutOfRangeException>(() => new Curriculum(0.5, 1, 10).At(0, 0));
    }

    /// <summary>Cipher inputs show the difficulty: 3 letters at level 0, 3–5 letters above.</summary>
    [Test]
    public void EarlyEpisodesAreShortAndEasyLateOnesAreNot()
    {
        var suite = new SyntheticSuite([new CipherFamily()]);
        var builder = new EpisodeBuilder(Bytes, SyntheticSuite.Template);
        var curriculum = new Curriculum(RampFraction: 0.5, StartShots: 2, EndShots: 30);
        const long Total = 100_000;
        IEnumerable<string> Inputs(Episode episode) => episode.Text.Split('\n').Skip(1).Select(line => line[..line.IndexOf('=')]);

        for (long index = 0; index < 20; index++)
        {
            var early = suite.TrainingEpisode(index, 1, builder, 512, curriculum, Total);
            Assert.That(early.DemonstrationCount, Is.EqualTo(2));
            Assert.That(Inputs(early).Select(input => input.Length), Is.All.EqualTo(3));
        }
        var late = Enumerable.Range(90_000, 20).Select(index => suite.TrainingEpisode(index, 1, builder, 512, curriculum, Total)).ToList();
        Assert.That(late.Select(episode => episode.DemonstrationCount), Is.All.EqualTo(30));
        Assert.That(late.SelectMany(Inputs).Select(input => input.Length).Distinct(), Is.EquivalentTo(new[] { 3, 4, 5 }));

        var batch = suite.TrainingBatch(0, rows: 2, seq: 512, seed: 1, Bytes, curriculum, totalPositions: 50_000);
        Assert.That(batch.InputIds[200..512], Is.All.Zero, "the first curriculum batches are short episodes and padding");
    }
}
