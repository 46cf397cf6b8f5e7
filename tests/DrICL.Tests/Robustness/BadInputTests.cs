using DrICL.Model.Safetensors;
using DrICL.Tests.Tokenization;
using DrICL.Training.Data;
using NUnit.Framework;

namespace DrICL.Tests.Robustness;

/// <summary>
/// Each bad input of issue 12 through the `dricl` entry point: refused with exit 2 and one line naming the
/// input and the problem, never a stack trace, a hang or a silently wrong result.
/// </summary>
[Category("Robustness"), NonParallelizable]
public class BadInputTests
{
    Workspace work = null!;

    [SetUp]
    public void Create() => work = new Workspace();

    [TearDown]
    public void Remove() => work.Dispose();

    static string[] Required(string command) => command switch
    {
        "train" => ["--model", "m", "--out", "o"],
        "eval" => ["--model", "m", "--tasks", "t", "--out", "o"],
        _ => [],
    };

    // Refused while parsing, before any file is read: the message gives the allowed range.
    [TestCase("train --steps -5", "--steps -5: must be in [1, 1000000000]")]
    [TestCase("train --accum 0", "--accum 0: must be in [1, 65536]")]
    [TestCase("train --batch 0", "--batch 0: must be in [1, 65536]")]
    [TestCase("train --seq 0", "--seq 0: must be in [2, 1048576]")]
    [TestCase("train --seq 1e6", "'1e6' for option '--seq'")]
    [TestCase("train --schedule linear", "--schedule linear: must be one of constant, cosine")]
    [TestCase("train --window 0", "--window 0: must be in [1, 1000000]")]
    [TestCase("train --gamma 0", "--gamma 0: must be in (0, 1000000]")]
    [TestCase("train --gamma -1", "--gamma -1: must be in (0, 1000000]")]
    [TestCase("train --sample-size 0", "--sample-size 0: must be in [1, 1000000]")]
    [TestCase("train --lr NaN", "--lr NaN: must be in [0, 1]")]
    [TestCase("train --lr Inf", "'Inf' for option '--lr'")]
    [TestCase("train --lr 1e30", "--lr 1E+30: must be in [0, 1]")]
    [TestCase("train --lr -1", "--lr -1: must be in [0, 1]")]
    [TestCase("train --alpha NaN", "--alpha NaN: must be in [-1, 1]")]
    [TestCase("train --alpha 5", "--alpha 5: must be in [-1, 1]")]
    [TestCase("train --warmup -5", "--warmup -5: must be in [0, 1000000000]")]
    [TestCase("train --objective sft", "--objective sft: must be one of it, metaicl, dricl")]
    [TestCase("eval --k -1", "--k -1: '-1' is not a whole number in [0, 100000]")]
    [TestCase("eval --seeds 0", "--seeds 0: must be in [1, 10000]")]
    [TestCase("eval --queries -2", "--queries -2: must be in [1, 1000000]")]
    [TestCase("eval --queries 0", "--queries 0: must be in [1, 1000000]")]
    [TestCase("eval --max-answer-tokens 0", "--max-answer-tokens 0: must be in [1, 65536]")]
    [TestCase("demo --steps -1", "--steps -1: must be in [1, 1000000000]")]
    [TestCase("demo --queries 9", "--queries 9: must be in [1, 4]")]
    public void OutOfRangeOptionsAreRefusedWhenParsed(string commandLine, string message)
    {
        var args = commandLine.Split(' ');
        Workspace.AssertRefused(CliRunner.Run([.. args, .. Required(args[0])]), message);
    }

    [Test]
    public void VerboseAddsTheStackTrace()
    {
        var (exit, _, stderr) = CliRunner.Run("tokenize", "--tokenizer", work.File("missing.json"), "x", "--verbose");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.StartWith($"error: {work.File("missing.json")}: tokenizer file not found").And.Contain("   at "));
    }

    [Test]
    public void MalformedJsonlLineNamesFileAndLine()
    {
        var tasks = work.Tasks();
        File.AppendAllText(tasks, "{\"name\": \"broken\", \n");
        Workspace.AssertRefused(CliRunner.Run(work.Train(work.Model(), tasks, work.File("out"), 1)), "tasks.jsonl:3: invalid JSON");
    }

    [Test]
    public void LoneSurrogateIsABadLineThatSkipBadLinesSkips()
    {
        var tasks = work.Tasks();
        File.AppendAllText(tasks, "{\"name\":\"odd\",\"instruction\":\"\\ud800\",\"kind\":\"classification\",\"examples\":[{\"input\":\"a\",\"output\":\"b\"},{\"input\":\"c\",\"output\":\"d\"}]}\n");
        string[] train = work.Train(work.Model(), tasks, work.File("out"), 1);
        Workspace.AssertRefused(CliRunner.Run(train), "tasks.jsonl:3: invalid text");

        var (exit, stdout, stderr) = CliRunner.Run([.. train, "--skip-bad-lines"]);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("tasks.jsonl:3: invalid text"));
    }

    [Test]
    public void TaskWithOneDistinctInputNamesTheFile()
    {
        var tasks = work.Tasks(new IclTask("same", "Same.", "classification", [new("a", "1"), new("a", "2"), new("a", "3")]));
        Workspace.AssertRefused(CliRunner.Run(work.Train(work.Model(), tasks, work.File("out"), 1)), "tasks.jsonl: task same: a train/test split needs at least 2 distinct inputs");
    }

    [Test]
    public void DivergedTrainingIsOneLine()
    {
        var model = work.Model();
        Workspace.EditWeight(model, "lm_head.weight", w => Array.Fill(w, 3e38f)); // finite, but the logits overflow
        Workspace.AssertRefused(CliRunner.Run(work.Train(model, work.Tasks(), work.File("out"), 2)), "step 1: the loss is", "training stopped, no checkpoint was written");
    }

    [Test]
    public void NonFiniteWeightIsRefusedAtLoadEvenInAnUnusedEmbeddingRow()
    {
        var model = work.Model();
        Workspace.EditWeight(model, "model.embed_tokens.weight", w => w[279 * 16 + 5] = float.NaN); // id 279: no token has it
        Workspace.AssertRefused(CliRunner.Run(work.Train(model, work.Tasks(), work.File("out"), 1)),
            "model.embed_tokens.weight holds a non-finite value (NaN at element 4469); --allow-nonfinite loads it anyway");
        Assert.That(Directory.Exists(work.File("out")), Is.False, "refused before anything is written");
    }

    [Test]
    public void EvalRefusesToScoreNonFiniteLogits()
    {
        var model = work.Model();
        Workspace.EditWeight(model, "lm_head.weight", w => w[7] = float.PositiveInfinity);
        string[] eval = ["eval", "--model", model, "--tasks", work.Tasks(), "--out", work.File("eval"), "--k", "0,1", "--seeds", "1", "--queries", "1", "--seq", "128"];
        Workspace.AssertRefused(CliRunner.Run(eval), "lm_head.weight holds a non-finite value (Infinity at element 7)");
        Workspace.AssertRefused(CliRunner.Run([.. eval, "--allow-nonfinite"]), "the model's logits are not finite", "not scoring");
        Assert.That(File.Exists(work.File("eval/results.json")), Is.False);
    }

    [Test]
    public void CheckReferenceRefusesNonFiniteWeights()
    {
        var dir = CopyFixture();
        Workspace.EditWeight(dir, "model.norm.weight", w => w[0] = float.NaN);
        Workspace.AssertRefused(CliRunner.Run("check-reference", dir), "model.safetensors: weight model.norm.weight holds a non-finite value");

        var (exit, stdout, stderr) = CliRunner.Run("check-reference", dir, "--allow-nonfinite");
        Assert.That(exit, Is.EqualTo(1), "loaded anyway, the check runs and fails: " + stderr);
        Assert.That(stdout, Does.Contain("logits").And.Contain("FAIL"));
    }

    [TestCase("position_ids", 1 << 30, "position_ids[3] = 1073741824 is outside [0, ")]
    [TestCase("input_ids", 1 << 20, "input_ids[3] = 1048576 is outside the vocabulary")]
    [TestCase("labels", -7, "labels[3] = -7 is neither -100 nor in [0, ")]
    public void FixtureIdsOutOfRangeAreRefused(string tensor, int value, string message)
    {
        var dir = CopyFixture();
        string path = Path.Combine(dir, "inputs.safetensors");
        List<SafetensorsTensor> tensors;
        using (var file = new SafetensorsFile(path))
            tensors = [.. file.Tensors.Values.OrderBy(t => t.Begin).Select(t =>
            {
                var ints = file.ReadInts(t.Name);
                if (t.Name == tensor) ints[3] = value;
                return SafetensorsTensor.FromInts(t.Name, t.Shape, ints);
            })];
        SafetensorsWriter.Write(path, tensors);
        Workspace.AssertRefused(CliRunner.Run("check-reference", dir), "inputs.safetensors: " + message);
    }

    [Test]
    public void HugeTokenizerIdIsRefusedBeforeAnythingIsAllocated()
    {
        var json = TinyTokenizers.NewStyle("first", split: true);
        json["model"]!["vocab"]!["zz"] = int.MaxValue;
        var path = work.File("tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        Workspace.AssertRefused(CliRunner.Run("tokenize", "--tokenizer", path, "Hello"), "model.vocab['zz'] = 2147483647 is not an integer id in [0, 16777215]");
    }

    [Test]
    public void EvalEpisodeLongerThanTheContextAndEmptyPoolAreRefused()
    {
        var model = work.Model();
        string[] eval = ["eval", "--model", model, "--out", work.File("eval"), "--seeds", "1", "--queries", "1", "--k", "0", "--seq", "128"];
        Workspace.AssertRefused(CliRunner.Run([.. eval[..^1], "4", "--tasks", work.Tasks()]), "not even k=0 fits the context");

        var empty = work.File("empty.jsonl");
        File.WriteAllText(empty, "\n\n");
        Workspace.AssertRefused(CliRunner.Run([.. eval, "--tasks", empty]), "empty.jsonl: no task");
        Assert.That(File.Exists(work.File("eval/results.json")), Is.False);
    }

    [Test]
    public void SeqBeyondTheModelsPositionsIsRefused() =>
        Workspace.AssertRefused(CliRunner.Run(work.Train(work.Model(), work.Tasks(), work.File("out"), 1, seq: 1_000_000)),
            "--seq 1000000: the model in", "has max_position_embeddings 512");

    [Test]
    public void RowsAreOnlyAsLongAsTheData()
    {
        var tokenizer = TinyTokenizers.Load(TinyTokenizers.NewStyle("first", split: true));
        var data = TrainingData.FromTasks([.. Workspace.DefaultTasks.Select(t => t.Split(0.2, 0))], "tasks", tokenizer, seq: 1 << 20, maxShots: 4, seed: 0);
        var batch = data.Batch(0, 2);
        Assert.That(batch.Seq, Is.LessThan(200), "a 2^20-token --seq costs nothing when the episodes are short");
    }

    [TestCase("model.safetensors")]
    [TestCase("tokenizer.json")]
    [TestCase("config.json")]
    [CancelAfter(60_000)]
    public void FifoInsteadOfAFileIsRefusedWithoutHanging(string name)
    {
        Assume.That(OperatingSystem.IsWindows(), Is.False, "FIFOs are a Unix case");
        var model = work.Model();
        string path = Path.Combine(model, name);
        File.Delete(path);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", path)) mkfifo.WaitForExit();
        var run = Task.Run(() => CliRunner.Run(work.Train(model, work.Tasks(), work.File("out"), 1)));
        Assert.That(run.Wait(TimeSpan.FromSeconds(30)), Is.True, "dricl train hung on a FIFO");
        Workspace.AssertRefused(run.Result, name, "not a regular file");
    }

    string CopyFixture()
    {
        var dir = work.File("fixture");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixtures.File("models", "tiny-llama-f32")))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }
}
