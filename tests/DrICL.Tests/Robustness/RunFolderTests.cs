using System.Text.Json.Nodes;
using DrICL.Training;
using NUnit.Framework;

namespace DrICL.Tests.Robustness;

/// <summary>What `dricl train` guarantees about its --out folder: no run overwritten by accident, metrics.jsonl holding each step once, no orphan temporary files, no silent change of objective on resume.</summary>
[Category("Robustness"), NonParallelizable]
public class RunFolderTests
{
    Workspace work = null!;

    [SetUp]
    public void Create() => work = new Workspace();

    [TearDown]
    public void Remove() => work.Dispose();

    [Test]
    public void AFolderHoldingARunNeedsResumeOrOverwrite()
    {
        var (model, tasks, output) = (work.Model(), work.Tasks(), work.File("out"));
        Assert.That(CliRunner.Run(work.Train(model, tasks, output, 2)).Exit, Is.Zero);
        var checkpoint = File.ReadAllBytes(Path.Combine(output, Checkpoint.FileName));

        Workspace.AssertRefused(CliRunner.Run(work.Train(model, tasks, output, 2)), "already holds a run", "--resume continues it, --overwrite replaces it");
        Assert.That(File.ReadAllBytes(Path.Combine(output, Checkpoint.FileName)), Is.EqualTo(checkpoint), "the refused run touched nothing");
        Workspace.AssertRefused(CliRunner.Run([.. work.Train(model, tasks, output, 2), "--resume", "--overwrite"]), "give one or the other");
        Workspace.AssertRefused(CliRunner.Run([.. work.Train(model, tasks, work.File("fresh"), 2), "--resume"]), "--resume:", "does not exist");

        var (exit, _, stderr) = CliRunner.Run([.. work.Train(model, tasks, output, 1), "--overwrite"]);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(Steps(output), Is.EqualTo(new[] { 1 }), "the old run's metrics are gone");
    }

    [Test]
    public void ResumeCutsMetricsBackToTheCheckpointAndRemovesOrphans()
    {
        var (model, tasks, output) = (work.Model(), work.Tasks(), work.File("out"));
        Assert.That(CliRunner.Run(work.Train(model, tasks, output, 2)).Exit, Is.Zero);
        // What a kill after step 3's metrics line and during the next checkpoint write leaves behind.
        string metrics = Path.Combine(output, "metrics.jsonl");
        File.AppendAllText(metrics, "{\"step\":3,\"loss\":99}\n{\"step\":4,\"lo");
        string orphan = Path.Combine(output, Checkpoint.FileName + ".x1y2z3w4.abc.tmp");
        File.WriteAllBytes(orphan, new byte[100]);

        var (exit, stdout, stderr) = CliRunner.Run([.. work.Train(model, tasks, output, 4), "--resume"]);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("from step 2"));
        Assert.That(Steps(output), Is.EqualTo(new[] { 1, 2, 3, 4 }), "each step exactly once");
        Assert.That(JsonNode.Parse(File.ReadAllLines(metrics)[2])!["loss"]!.GetValue<double>(), Is.Not.EqualTo(99), "step 3 is the resumed run's");
        Assert.That(File.Exists(orphan), Is.False);
    }

    [Test]
    public void ResumingWithOtherObjectiveSettingsNeedsForce()
    {
        var (model, tasks, output) = (work.Model(), work.Tasks(), work.File("out"));
        Assert.That(CliRunner.Run(work.Train(model, tasks, output, 1)).Exit, Is.Zero);
        Assert.That(Checkpoint.Settings(Path.Combine(output, Checkpoint.FileName)), Does.ContainKey("gamma").WithValue("11"));

        Workspace.AssertRefused(CliRunner.Run([.. work.Train(model, tasks, output, 2), "--resume", "--objective", "it"]), "objective dricl -> it", "--force");
        Workspace.AssertRefused(CliRunner.Run([.. work.Train(model, tasks, output, 2), "--resume", "--alpha", "0.5"]), "alpha 0.2 -> 0.5", "--force");
        var (exit, _, stderr) = CliRunner.Run([.. work.Train(model, tasks, output, 2), "--resume", "--objective", "it", "--force"]);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(Checkpoint.Settings(Path.Combine(output, Checkpoint.FileName))["objective"], Is.EqualTo("it"));
    }

    public static int[] Steps(string output) =>
        [.. File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!["step"]!.GetValue<int>())];
}
