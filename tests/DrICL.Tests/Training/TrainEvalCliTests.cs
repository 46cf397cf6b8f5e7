using System.Text.Json.Nodes;
using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Training.Data;
using NUnit.Framework;

namespace DrICL.Tests.Training;

/// <summary>`dricl train` and `dricl eval` end to end on a tiny random model with the real Mistral vocabulary.</summary>
[NonParallelizable]
public class TrainEvalCliTests
{
    string dir = "";

    [SetUp]
    public void MakeDir() => Directory.CreateDirectory(dir = Path.Combine(Path.GetTempPath(), "dricl-train-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void RemoveDir() => Directory.Delete(dir, recursive: true);

    string ModelFolder(int vocab = 32000)
    {
        var folder = Path.Combine(dir, "model");
        var config = new ModelConfig(vocabSize: vocab, hiddenSize: 16, intermediateSize: 32, layers: 1, heads: 2, modelType: "mistral", slidingWindow: 64);
        ModelSaver.SaveFolder(ModelInit.Random(config, CpuDevice.Instance, seed: 3), folder);
        File.Copy(Tokenization.MistralTokenizer.JsonPath, Path.Combine(folder, "tokenizer.json"));
        return folder;
    }

    string TaskPoolFile()
    {
        var path = Path.Combine(dir, "tasks.jsonl");
        string[] animals = ["cat", "dog", "cow", "owl", "eel", "fox", "yak", "bee", "ant", "elk", "hen", "ram"];
        TaskPool.Write(path,
        [
            new IclTask("legs", "How many legs?", "classification", [.. animals.Select((a, i) => new TaskExample(a, i % 3 == 0 ? "four" : "two"))]),
            new IclTask("echo", "Repeat the word.", "summarization", [.. animals.Select(a => new TaskExample($"say {a}", a))]),
        ]);
        return path;
    }

    [Test]
    public void TrainResumeThenEvaluate()
    {
        var model = ModelFolder();
        var tasks = TaskPoolFile();
        var output = Path.Combine(dir, "out");
        string[] train = ["train", "--model", model, "--tasks", tasks, "--out", output, "--seq", "160", "--batch", "2", "--lr", "1e-3", "--window", "2", "--max-shots", "6", "--checkpoint-every", "2"];

        var (exit, stdout, stderr) = CliRunner.Run([.. train, "--steps", "2"]);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("with dricl on 2 tasks"));
        Assert.That(File.ReadAllLines(Path.Combine(output, "metrics.jsonl")), Has.Length.EqualTo(2));

        (exit, stdout, stderr) = CliRunner.Run([.. train, "--steps", "3", "--resume"]);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("from step 2"));
        var metrics = File.ReadAllLines(Path.Combine(output, "metrics.jsonl"));
        Assert.That(metrics, Has.Length.EqualTo(3));
        Assert.That(JsonNode.Parse(metrics[2])!["step"]!.GetValue<int>(), Is.EqualTo(3));
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json", "checkpoint.safetensors" })
            Assert.That(File.Exists(Path.Combine(output, f)), f);

        var evaluation = Path.Combine(dir, "eval");
        (exit, stdout, stderr) = CliRunner.Run("eval", "--model", output, "--tasks", tasks, "--out", evaluation, "--k", "0,1,3,500",
            "--seeds", "2", "--queries", "2", "--seq", "160", "--max-answer-tokens", "3", "--name", "dricl");
        Assert.That(exit, Is.Zero, stderr);
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(evaluation, "results.json")))!;
        var curve = results["objectives"]!["dricl"]!;
        Assert.That(curve["k"]!.AsArray().Select(k => k!.GetValue<int>()), Is.EqualTo(new[] { 0, 1, 3 }), "k=500 does not fit and ends the curve");
        Assert.That(curve["tasks"]!.AsObject().Select(t => t.Key), Is.EquivalentTo(new[] { "echo", "legs" }));
        Assert.That(results["meta"]!["metrics"]!["echo"]!.GetValue<string>(), Is.EqualTo("rougeL"));
        Assert.That(File.ReadAllText(Path.Combine(evaluation, "report.html")), Does.Contain("data-chart=\"average\""));
    }

    [Test]
    public void MismatchedTokenizerAndMissingDataAreClearErrors()
    {
        var model = ModelFolder(vocab: 1000);
        var (exit, _, stderr) = CliRunner.Run("train", "--model", model, "--tasks", TaskPoolFile(), "--out", Path.Combine(dir, "o"));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("tokenizer.json: 32000 tokens, but the model").And.Contain("vocabulary of 1000"));

        (exit, _, stderr) = CliRunner.Run("train", "--model", model, "--tasks", Path.Combine(dir, "none.jsonl"), "--out", Path.Combine(dir, "o"), "--tokenizer", Path.Combine(dir, "missing.json"));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("missing.json: tokenizer file not found"));
    }

    [Test]
    public void EpisodesLongerThanTheContextAreAClearError()
    {
        var model = ModelFolder();
        var (exit, _, stderr) = CliRunner.Run("train", "--model", model, "--tasks", TaskPoolFile(), "--out", Path.Combine(dir, "o"), "--seq", "12", "--steps", "1");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("tasks.jsonl: task").And.Contain("does not fit in 12 tokens"));
    }

    [Test]
    public void TrainWithProfileThenSummarizeTheTrace()
    {
        string trace = Path.Combine(dir, "trace.json"), page = Path.Combine(dir, "profile.html");
        string? cache = Environment.GetEnvironmentVariable("DRICL_CACHE_DIR");
        Environment.SetEnvironmentVariable("DRICL_CACHE_DIR", Path.Combine(dir, "cache"));   // measure the peaks here, away from the user's cache
        (int, string, string) run;
        try
        {
            run = CliRunner.Run("train", "--model", ModelFolder(), "--tasks", TaskPoolFile(), "--out", Path.Combine(dir, "out"), "--seq", "160", "--max-shots", "6", "--steps", "2", "--profile", trace);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DRICL_CACHE_DIR", cache);
        }
        var (exit, stdout, stderr) = run;
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("measuring the peaks of cpu").And.Contain("profiling cpu into " + trace));
        Assert.That(File.Exists(Path.Combine(dir, "cache", "peaks.json")));

        (exit, stdout, stderr) = CliRunner.Run("profile", trace, "--html", page);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("2 steps").And.Contain("MatMul").And.Contain("AttentionBackward").And.Contain("peaks: "));
        Assert.That(File.ReadAllText(page), Does.Contain("data-chart=\"roofline\""));

        string nowhere = Path.Combine(dir, "no-such-folder", "trace.json");
        (exit, _, stderr) = CliRunner.Run("train", "--model", Path.Combine(dir, "model"), "--tasks", Path.Combine(dir, "tasks.jsonl"), "--out", Path.Combine(dir, "out2"), "--seq", "160", "--max-shots", "6", "--steps", "1", "--profile", nowhere);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr.Trim(), Is.EqualTo($"error: --profile {nowhere}: no such folder {Path.GetDirectoryName(nowhere)}"));

        (exit, _, stderr) = CliRunner.Run("profile", Path.Combine(dir, "missing.json"));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr.Trim(), Is.EqualTo($"error: {Path.Combine(dir, "missing.json")}: no such trace"));
    }
}
