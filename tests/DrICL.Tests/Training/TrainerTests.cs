using DrICL.Model;
using DrICL.Training;
using DrICL.Training.Objectives;
using NUnit.Framework;

namespace DrICL.Tests.Training;

public class TrainerTests
{
    string dir = "";

    [SetUp]
    public void MakeDir() => Directory.CreateDirectory(dir = Path.Combine(Path.GetTempPath(), "dricl-trainer-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void RemoveDir() => Directory.Delete(dir, recursive: true);

    static TrainerOptions Options(string? checkpoints = null) =>
        new(6, LearningRateSchedule.Parse("cosine", 3e-3f, warmup: 2, total: 6))
        {
            GradAccumulation = 2,
            AdamW = new DrICL.Kernels.AdamWConfig(3e-3f, 0.9f, 0.98f, 5e-8f, 1e-4f),
            CheckpointDir = checkpoints,
            CheckpointEvery = 3,
        };

    static (Trainer, Transformer) NewTrainer(TrainerOptions options)
    {
        var model = TinyModels.Model(tied: false, kvHeads: 2, window: null, seed: 1);
        return (new Trainer(model, new DrIcl(new DrIclOptions(Window: 2)), pos => TinyModels.Batch(seed: (int)pos), options), model);
    }

    [Test]
    public void ResumeReproducesTheLossesBitForBit()
    {
        var (straight, _) = NewTrainer(Options());
        var expected = straight.Run().Select(r => (r.Step, r.Loss, r.GradNorm)).ToList();

        var checkpoints = Path.Combine(dir, "run");
        var (crashing, _) = NewTrainer(Options(checkpoints));
        Assert.Throws<OperationCanceledException>(() => crashing.Run(r => { if (r.Step == 5) throw new OperationCanceledException("simulated crash"); }));

        var (resumed, _) = NewTrainer(Options(checkpoints));
        resumed.Resume(Path.Combine(checkpoints, Checkpoint.FileName));
        Assert.That(resumed.Step, Is.EqualTo(3));
        var after = resumed.Run().Select(r => (r.Step, r.Loss, r.GradNorm)).ToList();
        Assert.That(after, Is.EqualTo(expected.Skip(3)));
        Assert.That(expected.Select(e => e.Loss).Distinct().Count(), Is.EqualTo(6), "the losses should differ from step to step");
    }

    [Test]
    public void NonFiniteLossStopsAndKeepsTheLastGoodCheckpoint()
    {
        var checkpoints = Path.Combine(dir, "run");
        var (trainer, model) = NewTrainer(Options(checkpoints));
        var path = Path.Combine(checkpoints, Checkpoint.FileName);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run(r =>
        {
            if (r.Step == 4) model.Parameters[3].Value.Value.Span[0] = float.NaN;
        }));
        Assert.That(e!.Message, Does.Contain("step 5").And.Contain("NaN").And.Contain(path));
        using var saved = new DrICL.Model.Safetensors.SafetensorsFile(path);
        Assert.That(saved.Metadata["step"], Is.EqualTo("3"));
        Assert.That(saved.ReadFloats(model.Parameters[3].Name).All(float.IsFinite), Is.True);
    }

    [Test]
    public void CosineScheduleWarmsUpThenDecays()
    {
        var s = LearningRateSchedule.Parse("cosine", 1f, warmup: 4, total: 14);
        Assert.That(s.At(1), Is.EqualTo(0.25f));
        Assert.That(s.At(4), Is.EqualTo(1f));
        Assert.That(s.At(9), Is.EqualTo(0.55f).Within(1e-6));
        Assert.That(s.At(14), Is.EqualTo(0.1f).Within(1e-6));
        Assert.That(LearningRateSchedule.Parse("constant", 2f, 0, 10).At(7), Is.EqualTo(2f));
        Assert.Throws<ArgumentException>(() => LearningRateSchedule.Parse("linear", 1f, 0, 1));
    }
}
