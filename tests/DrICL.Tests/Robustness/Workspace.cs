using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Model.Safetensors;
using DrICL.Tests.Tokenization;
using DrICL.Training.Data;
using NUnit.Framework;

namespace DrICL.Tests.Robustness;

/// <summary>
/// A temporary folder for the robustness cases: a tiny model (vocabulary 280, d=16, one layer, 512 positions)
/// with the 273-id test tokenizer, a task pool, the `dricl train` arguments that use them, and the check
/// every refused input must pass: exit 2 and one "error: " line, no stack trace.
/// </summary>
public sealed class Workspace : IDisposable
{
    public string Dir { get; } = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "dricl-robust-" + Guid.NewGuid().ToString("N"))).FullName;

    public string File(string name) => Path.Combine(Dir, name);

    public string Model(string name = "model", int hidden = 16, int layers = 1)
    {
        var folder = File(name);
        var config = new ModelConfig(vocabSize: 280, hiddenSize: hidden, intermediateSize: 2 * hidden, layers: layers, heads: 2, maxPositionEmbeddings: 512);
        ModelSaver.SaveFolder(ModelInit.Random(config, CpuDevice.Instance, seed: 3), folder);
        System.IO.File.WriteAllText(Path.Combine(folder, "tokenizer.json"), TinyTokenizers.NewStyle("first", split: true).ToJsonString());
        return folder;
    }

    /// <summary>Rewrites one weight of a model folder's model.safetensors.</summary>
    public static void EditWeight(string folder, string name, Action<float[]> edit)
    {
        string path = Path.Combine(folder, SafetensorsCheckpoint.SingleFileName);
        List<SafetensorsTensor> tensors;
        using (var file = new SafetensorsFile(path))
            tensors = [.. file.Tensors.Values.OrderBy(t => t.Begin).Select(t =>
            {
                var values = file.ReadFloats(t.Name);
                if (t.Name == name) edit(values);
                return SafetensorsTensor.FromFloats(t.Name, t.Shape, values);
            })];
        SafetensorsWriter.Write(path, tensors);
    }

    public string Tasks(params IclTask[] tasks)
    {
        var path = File("tasks.jsonl");
        TaskPool.Write(path, tasks.Length > 0 ? tasks : DefaultTasks);
        return path;
    }

    static readonly string[] Words = ["cat", "dog", "cow", "owl", "eel", "fox", "yak", "bee", "ant", "elk"];

    public static readonly IclTask[] DefaultTasks =
    [
        new("legs", "Legs?", "classification", [.. Words.Select((w, i) => new TaskExample(w, i % 3 == 0 ? "4" : "2"))]),
        new("echo", "Echo.", "summarization", [.. Words.Select(w => new TaskExample(w, w))]),
    ];

    /// <summary>`dricl train` on the tiny model and task pool, a checkpoint every step.</summary>
    public string[] Train(string model, string tasks, string output, int steps, int seq = 128) =>
        ["train", "--model", model, "--tasks", tasks, "--out", output, "--seq", seq.ToString(), "--steps", steps.ToString(), "--lr", "1e-3",
         "--window", "2", "--max-shots", "4", "--checkpoint-every", "1"];

    /// <summary>A refused input: exit 2 and exactly one "error: " line naming what the caller expects, no stack trace, no exception type.</summary>
    public static void AssertRefused((int Exit, string Out, string Err) run, params string[] mentions)
    {
        Assert.That(run.Exit, Is.EqualTo(2), $"stdout: {run.Out}\nstderr: {run.Err}");
        var errors = run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToList();
        Assert.That(errors, Has.Count.EqualTo(1), run.Err);
        Assert.That(run.Err, Does.Not.Contain("   at "), "no stack trace without --verbose");
        Assert.That(errors[0], Does.Not.Match(@"^error: \w+Exception: "), "an exception type in the line means nothing recognized the failure");
        foreach (var m in mentions) Assert.That(errors[0], Does.Contain(m));
    }

    /// <summary>Either success, or a refusal as <see cref="AssertRefused"/> describes.</summary>
    public static void AssertSucceededOrRefused((int Exit, string Out, string Err) run)
    {
        if (run.Exit != 0) AssertRefused(run);
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
