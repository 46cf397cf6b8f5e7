using System.Text.Json;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Profiling;
using DrICL.Model;
using DrICL.Training;
using DrICL.Training.Objectives;
using NUnit.Framework;

namespace DrICL.Tests.Kernels.Profiling;

/// <summary>
/// Three training steps of a small Llama on a profiled CPU device, recorded once: the trace must be valid
/// trace-event JSON, nested step › forward/backward › layer › attention/mlp › op, and its op slices must
/// account for the steps' wall time.
/// </summary>
[NonParallelizable]
public class ProfiledTrainingTests
{
    const int Steps = 3;
    // Times are written rounded to nanoseconds, and ts + dur adds a float rounding on top.
    const double Slack = 0.002;
    string path = "";
    List<JsonElement> events = [];
    JsonDocument? document;

    internal static readonly ModelConfig Config = new(vocabSize: 256, hiddenSize: 64, intermediateSize: 160, layers: 2, heads: 4, kvHeads: 2);

    /// <summary>Trains Steps steps on device (profiled or not) and returns the trainer's records.</summary>
    internal static List<StepRecord> Train(DrICL.Kernels.IDevice device, int steps = Steps, int seq = 128)
    {
        var model = ModelInit.Random(Config, device, seed: 5);
        var rng = new Random(6);
        var ids = Enumerable.Range(0, 2 * seq).Select(_ => rng.Next(Config.VocabSize)).ToArray();
        var labels = ids.Skip(1).Append(-100).ToArray();
        var positions = Enumerable.Range(0, 2 * seq).Select(i => i % seq).ToArray();
        var batch = new TokenBatch(2, seq, ids, labels, new int[2 * seq], new int[2 * seq], positions);
        var trainer = new Trainer(model, new InstructionTuning(), _ => batch, new TrainerOptions(steps, LearningRateSchedule.Parse("constant", 1e-3f, 0, steps)));
        return trainer.Run();
    }

    [OneTimeSetUp]
    public void Record()
    {
        Train(CpuDevice.Instance);   // warms the JIT, so the profiled steps time the kernels, not the compiler
        path = Path.Combine(Path.GetTempPath(), $"dricl-profile-{Guid.NewGuid():N}.json");
        using (var device = new ProfiledDevice(CpuDevice.Instance, path, new Dictionary<string, object> { ["command"] = "test" }))
            Train(device);
        document = JsonDocument.Parse(File.ReadAllText(path));
        events = [.. document.RootElement.GetProperty("traceEvents").EnumerateArray()];
    }

    [OneTimeTearDown]
    public void Remove()
    {
        document?.Dispose();
        File.Delete(path);
    }

    IEnumerable<JsonElement> Complete => events.Where(e => e.GetProperty("ph").GetString() == "X");

    static double Start(JsonElement e) => e.GetProperty("ts").GetDouble();
    static double End(JsonElement e) => e.GetProperty("ts").GetDouble() + e.GetProperty("dur").GetDouble();
    static string Name(JsonElement e) => e.GetProperty("name").GetString()!;

    [Test]
    public void EveryEventHasTheTraceEventFields()
    {
        Assert.That(document!.RootElement.GetProperty("displayTimeUnit").GetString(), Is.EqualTo("ms"));
        Assert.That(document.RootElement.GetProperty("otherData").GetProperty("timer").GetString(), Is.EqualTo("host wall clock"));
        Assert.That(events.Where(e => e.GetProperty("ph").GetString() == "M").Select(e => e.GetProperty("name").GetString()), Is.EquivalentTo(new[] { "process_name", "thread_name" }));
        Assert.That(Complete.Count(), Is.GreaterThan(100));
        foreach (var e in Complete)
        {
            Assert.That(e.GetProperty("name").ValueKind, Is.EqualTo(JsonValueKind.String));
            Assert.That(e.GetProperty("cat").GetString(), Is.AnyOf("op", "range"));
            Assert.That(e.GetProperty("ts").GetDouble(), Is.GreaterThanOrEqualTo(0));
            Assert.That(e.GetProperty("dur").GetDouble(), Is.GreaterThanOrEqualTo(0));
            Assert.That(e.GetProperty("pid").GetInt32(), Is.EqualTo(TraceWriter.ProcessId));
            Assert.That(e.GetProperty("tid").GetInt32(), Is.EqualTo(TraceWriter.ThreadId));
            if (e.GetProperty("cat").GetString() == "op")
                foreach (var arg in new[] { "shapes", "flops", "bytes" }) Assert.That(e.GetProperty("args").TryGetProperty(arg, out _), Is.True, $"{Name(e)} args.{arg}");
        }
    }

    [Test]
    public void SlicesNestWithoutPartialOverlap()
    {
        // Ordered by start (longer first at equal starts), each slice must end within the innermost slice still open around it.
        var slices = Complete.OrderBy(Start).ThenByDescending(End).ToList();
        var open = new Stack<JsonElement>();
        foreach (var s in slices)
        {
            while (open.Count > 0 && End(open.Peek()) <= Start(s) + Slack && End(open.Peek()) < End(s)) open.Pop();
            if (open.Count > 0) Assert.That(End(s), Is.LessThanOrEqualTo(End(open.Peek()) + Slack), $"{Name(s)} at {Start(s)} overhangs {Name(open.Peek())}");
            open.Push(s);
        }
    }

    [Test]
    public void OpsNestUnderTheModelRanges()
    {
        var paths = Paths();
        Assert.That(paths, Has.Some.EqualTo("step 1/forward/layer 0/attention/Attention"));
        Assert.That(paths, Has.Some.EqualTo("step 2/forward/layer 1/mlp/SwiGlu"));
        Assert.That(paths, Has.Some.EqualTo("step 3/backward/layer 1/mlp/SwiGluBackward"));
        Assert.That(paths, Has.Some.EqualTo("step 3/backward/layer 0/attention/AttentionBackward"));
        Assert.That(paths, Has.Some.EqualTo("step 1/loss/CrossEntropy"));
        Assert.That(paths, Has.Some.EqualTo("step 1/backward/loss/CrossEntropyBackward"));
        Assert.That(paths, Has.Some.EqualTo("step 2/optimizer/AdamW"));
        Assert.That(paths.Where(p => p.StartsWith("step 1/", StringComparison.Ordinal) && p.EndsWith("/AttentionBackward", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(Config.Layers));
    }

    [Test]
    public void OpSlicesAddUpToTheStepsWallTime()
    {
        var steps = Complete.Where(e => Name(e).StartsWith("step ", StringComparison.Ordinal)).ToList();
        Assert.That(steps, Has.Count.EqualTo(Steps));
        // Per step, so that one step caught by a GC pause or a JIT tier-up on this shared machine does not decide it:
        // no step's ops exceed it, and in the median step they cover at least 90%.
        var coverage = steps.Select(step =>
        {
            double opUs = Complete.Where(e => e.GetProperty("cat").GetString() == "op" && Start(step) <= Start(e) && End(e) <= End(step) + Slack)
                .Sum(e => e.GetProperty("dur").GetDouble());
            return opUs / step.GetProperty("dur").GetDouble();
        }).Order().ToList();
        Assert.That(coverage, Has.All.LessThanOrEqualTo(1.0 + 1e-6), "ops cannot outlast their step");
        Assert.That(coverage[coverage.Count / 2], Is.GreaterThanOrEqualTo(0.9), $"op coverage per step: {string.Join(", ", coverage.Select(c => c.ToString("F3")))}");
    }

    [Test]
    public void RangesTotalTheOpsInsideThem()
    {
        var ops = Complete.Where(e => e.GetProperty("cat").GetString() == "op").ToList();
        foreach (var range in Complete.Where(e => Name(e) is "step 2" or "layer 1" or "backward"))
        {
            long flops = ops.Where(o => Start(range) <= Start(o) && End(o) <= End(range) + Slack).Sum(o => o.GetProperty("args").GetProperty("flops").GetInt64());
            Assert.That(range.GetProperty("args").GetProperty("flops").GetInt64(), Is.EqualTo(flops).And.Positive, Name(range));
        }
    }

    [Test]
    public void RangesAreInactiveOnceTheProfileEnds()
    {
        Assert.That(Profiler.Active, Is.Null);
        using (Profiler.Range("step", 1)) Assert.That(Profiler.Active, Is.Null);
    }

    [Test]
    public void OnlyOneProfileAtATime()
    {
        string first = path + ".first", second = path + ".second";
        try
        {
            using var device = new ProfiledDevice(CpuDevice.Instance, first, new Dictionary<string, object>());
            Assert.That(() => new ProfiledDevice(CpuDevice.Instance, second, new Dictionary<string, object>()), Throws.InvalidOperationException);
        }
        finally
        {
            File.Delete(first);
            File.Delete(second);
        }
        Assert.That(Profiler.Active, Is.Null);
    }

    // "step 1/forward/layer 0/attention/MatMul" for every op: its enclosing slices, outermost first.
    List<string> Paths()
    {
        var slices = Complete.OrderBy(Start).ThenByDescending(End).ToList();
        var open = new List<JsonElement>();
        var result = new List<string>();
        foreach (var s in slices)
        {
            while (open.Count > 0 && (End(open[^1]) + Slack < End(s) || (Start(s) + Slack >= End(open[^1]) && s.GetProperty("dur").GetDouble() > 0))) open.RemoveAt(open.Count - 1);
            if (s.GetProperty("cat").GetString() == "op") result.Add(string.Join("/", open.Select(Name).Append(Name(s))));
            else open.Add(s);
        }
        return result;
    }
}
