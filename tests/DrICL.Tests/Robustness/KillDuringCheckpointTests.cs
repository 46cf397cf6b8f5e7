using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DrICL.Model.Safetensors;
using DrICL.Training;
using NUnit.Framework;

namespace DrICL.Tests.Robustness;

/// <summary>
/// `kill -9` of a real `dricl train` process while it writes a checkpoint, again and again, resuming each time:
/// the checkpoint always opens whole, metrics.jsonl always holds every step the checkpoint holds, and the
/// finished run's metrics hold each step exactly once with no temporary file left. DRICL_KILL_LOOPS sets the
/// number of kills (default 3, to keep the category quick).
/// </summary>
[Category("Robustness"), NonParallelizable]
public class KillDuringCheckpointTests
{
    [Test]
    public void KillsDuringCheckpointWritesLoseNothing()
    {
        int kills = int.TryParse(Environment.GetEnvironmentVariable("DRICL_KILL_LOOPS"), out int n) ? n : 3;
        using var work = new Workspace();
        // d=128, 2 layers: a 4.8 MB checkpoint (weights and AdamW moments), long enough to write that kills land inside it.
        var (model, tasks, output) = (work.Model(hidden: 128, layers: 2), work.Tasks(), work.File("out"));
        string checkpoint = Path.Combine(output, Checkpoint.FileName), metrics = Path.Combine(output, "metrics.jsonl");
        int orphans = 0;
        for (int kill = 0; kill < kills; kill++)
        {
            string[] train = work.Train(model, tasks, output, steps: 1000);
            using var child = Start(File.Exists(checkpoint) ? [.. train, "--resume"] : File.Exists(metrics) ? [.. train, "--overwrite"] : train);
            KillInsideACheckpointWrite(child, output, skip: 1 + kill % 2); // past the first write: there is a checkpoint to check
            if (Directory.EnumerateFiles(output, "*.tmp").Any()) orphans++;

            Assert.That(File.Exists(checkpoint), Is.True, "a checkpoint was written before the kill");
            int step = CheckpointStep(checkpoint);
            Assert.That(LoggedSteps(metrics), Is.SupersetOf(Enumerable.Range(1, step)), $"kill {kill}: metrics.jsonl holds every step of the checkpoint (step {step})");
        }

        int last = CheckpointStep(checkpoint) + 2;
        var (exit, _, stderr) = CliRunner.Run([.. work.Train(model, tasks, output, last), "--resume"]);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(RunFolderTests.Steps(output), Is.EqualTo(Enumerable.Range(1, last)), "each step exactly once");
        Assert.That(Directory.EnumerateFiles(output, "*.tmp"), Is.Empty, "orphan temporary files are removed");
        TestContext.Out.WriteLine($"{kills} kills, {orphans} of them inside a checkpoint write (a temporary file left), finished at step {last}");
    }

    static Process Start(string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "dricl.exe" : "dricl"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Watches the run folder and kills the process the moment its (skip+1)-th temporary checkpoint file appears.</summary>
    static void KillInsideACheckpointWrite(Process child, string output, int skip)
    {
        var deadline = Stopwatch.StartNew();
        string? seen = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.That(child.HasExited, Is.False, "the run ended before it was killed");
            var temp = Directory.Exists(output) ? Directory.EnumerateFiles(output, "*.safetensors.*.tmp").FirstOrDefault() : null;
            if (temp is not null && temp != seen)
            {
                seen = temp;
                if (skip-- == 0)
                {
                    child.Kill(entireProcessTree: true);
                    child.WaitForExit();
                    return;
                }
            }
        }
        child.Kill(entireProcessTree: true);
        Assert.Fail("no checkpoint write seen in 60 s");
    }

    static int CheckpointStep(string path)
    {
        using var file = new SafetensorsFile(path);
        foreach (var name in file.Tensors.Keys) Assert.That(file.ReadFloats(name), Is.Not.Empty);
        return int.Parse(file.Metadata["step"], CultureInfo.InvariantCulture);
    }

    // Complete lines only: a kill may tear the last one.
    static IEnumerable<int> LoggedSteps(string path) =>
        File.ReadAllLines(path).Select(line =>
        {
            try { return JsonDocument.Parse(line).RootElement.GetProperty("step").GetInt32(); }
            catch (JsonException) { return 0; }
        });
}
