using System.CommandLine;
using System.Diagnostics;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Profiling;
using DrICL.Model;
using DrICL.Training;
using DrICL.Training.Objectives;

namespace DrICL.Cli;

/// <summary>
/// `dricl bench profiler`: what profiling costs. Off, the model's range calls are the only profiler code on
/// the hot path: their cost is measured in a tight loop against the same loop without them, and multiplied by
/// the ranges a step opens. On, a CPU training step (forward, backward, AdamW) of the bench Llama is timed on
/// a plain and on a profiled device, interleaved so that the machine's load hits both alike.
/// </summary>
public static class ProfilerBench
{
    public static Command Create()
    {
        var repeats = new Option<int>("--repeats") { DefaultValueFactory = _ => 8, Description = "timed steps per side (after one warm-up each)" };
        var seq = new Option<int>("--seq") { DefaultValueFactory = _ => 512, Description = "tokens per step" };
        var command = new Command("profiler", "Cost of profiling: a range call with profiling off, and a CPU train step with --profile against without") { repeats, seq };
        command.SetAction(parse => CliError.Guard(parse, output =>
        {
            int n = parse.GetValue(repeats), tokens = parse.GetValue(seq);
            if (n < 1 || tokens < 2) throw new CliError("--repeats must be at least 1 and --seq at least 2");
            var (withRange, without) = RangeCost();
            output.WriteLine($"range, profiling off: {withRange:F2} ns a call, the loop without it {without:F2} ns: {withRange - without:F2} ns a range");
            var (profiledOp, plainOp) = OpCost();
            output.WriteLine($"op, profiling on: {profiledOp:F0} ns a call of Fill on 16 floats, {plainOp:F0} ns unprofiled: {profiledOp - plainOp:F0} ns an op (timer, record, trace JSON)");

            string trace = Path.Combine(Path.GetTempPath(), $"dricl-bench-profiler-{Environment.ProcessId}.json");
            var plain = new List<double>();
            var profiled = new List<double>();
            var plainCpu = new List<double>();
            var profiledCpu = new List<double>();
            int rangesPerStep = 0, opsPerStep = 0;
            try
            {
                (double, double) Profiled()
                {
                    using var device = new ProfiledDevice(CpuDevice.Instance, trace, new Dictionary<string, object>());
                    return TimeStep(device, tokens);
                }
                for (int r = 0; r <= n; r++)
                {
                    // Alternating which side goes first keeps a drift in the machine's load from favouring one.
                    (double Wall, double Cpu) p, q;
                    if (r % 2 == 0) (p, q) = (TimeStep(CpuDevice.Instance, tokens), Profiled());
                    else (q, p) = (Profiled(), TimeStep(CpuDevice.Instance, tokens));
                    if (r == 0) continue;   // warm-up: JIT and first-touch page faults
                    plain.Add(p.Wall);
                    profiled.Add(q.Wall);
                    plainCpu.Add(p.Cpu);
                    profiledCpu.Add(q.Cpu);
                }
                (rangesPerStep, opsPerStep) = CountSlices(trace);
            }
            finally
            {
                File.Delete(trace);
            }
            double off = rangesPerStep * (withRange - without) * 1e-9 / Median(plain), on = opsPerStep * (profiledOp - plainOp) * 1e-9 / Median(plain);
            output.WriteLine($"train step ({CpuBench.BenchModel.Layers} layers, d={CpuBench.BenchModel.HiddenSize}, T={tokens}, forward+backward+AdamW): {rangesPerStep} ranges and {opsPerStep} ops a step");
            output.WriteLine($"  off: {Median(plain) * 1e3:F1} ms median ({string.Join(", ", plain.Select(t => $"{t * 1e3:F0}"))}); its ranges cost {off * 1e6:F2} ppm of it");
            output.WriteLine($"  on:  {Median(profiled) * 1e3:F1} ms median ({string.Join(", ", profiled.Select(t => $"{t * 1e3:F0}"))}); its ops' bookkeeping costs {on * 100:F3}% of a step");
            output.WriteLine($"  on / off: {Median(profiled) / Median(plain):F3} (median), {profiled.Min() / plain.Min():F3} (best) in wall time; {Median(profiledCpu) / Median(plainCpu):F3} (median), {profiledCpu.Min() / plainCpu.Min():F3} (best) in process CPU time");
            return 0;
        }));
        return command;
    }

    // ns per iteration of a loop opening and closing a range with profiling off, and of the same loop without it.
    static (double WithRange, double Without) RangeCost()
    {
        const int iterations = 200_000_000;
        if (Profiler.Active is not null) throw new InvalidOperationException("a profile is being recorded");
        double best = double.MaxValue, bestBaseline = double.MaxValue;
        long sink = 0;
        for (int r = 0; r < 4; r++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++)
            {
                using (Profiler.Range("layer", i)) sink += i;
            }
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
            clock.Restart();
            for (int i = 0; i < iterations; i++) sink += Baseline(i);
            bestBaseline = Math.Min(bestBaseline, clock.Elapsed.TotalSeconds);
        }
        if (sink == 42) Console.Write("");
        return (best / iterations * 1e9, bestBaseline / iterations * 1e9);
    }

    // ns per Fill of 16 floats on a profiled device (trace written to a temporary file) and on the plain CPU device.
    static (double Profiled, double Plain) OpCost()
    {
        const int iterations = 200_000;
        string trace = Path.Combine(Path.GetTempPath(), $"dricl-bench-ops-{Environment.ProcessId}.json");
        double profiled = double.MaxValue, plain = double.MaxValue;
        try
        {
            for (int r = 0; r < 3; r++)
            {
                using (var device = new ProfiledDevice(CpuDevice.Instance, trace, new Dictionary<string, object>()))
                {
                    var t = device.Zeros(16);
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < iterations; i++) device.Fill(t, i);
                    profiled = Math.Min(profiled, clock.Elapsed.TotalSeconds);
                }
                var u = CpuDevice.Instance.Zeros(16);
                var plainClock = Stopwatch.StartNew();
                for (int i = 0; i < iterations; i++) CpuDevice.Instance.Fill(u, i);
                plain = Math.Min(plain, plainClock.Elapsed.TotalSeconds);
            }
        }
        finally
        {
            File.Delete(trace);
        }
        return (profiled / iterations * 1e9, plain / iterations * 1e9);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    static long Baseline(int i) => i;

    // Wall and process CPU seconds of one Trainer step (zero grads, forward, backward, AdamW) of a fresh bench model on the device.
    static (double Wall, double Cpu) TimeStep(IDevice device, int seq)
    {
        var config = CpuBench.BenchModel;
        var model = ModelInit.Random(config, device, seed: 1);
        var rng = new Random(2);
        var ids = Enumerable.Range(0, seq).Select(_ => rng.Next(config.VocabSize)).ToArray();
        var labels = ids.Skip(1).Append(-100).ToArray();
        var batch = new TokenBatch(1, seq, ids, labels, new int[seq], new int[seq], Enumerable.Range(0, seq).ToArray());
        var trainer = new Trainer(model, new InstructionTuning(), _ => batch, new TrainerOptions(1, LearningRateSchedule.Parse("constant", 1e-4f, 0, 1)));
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        trainer.Run();
        double wall = clock.Elapsed.TotalSeconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    // Range and op slices of the trace's step 1 and after (the model's initialization comes before it).
    static (int Ranges, int Ops) CountSlices(string trace)
    {
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(trace));
        int ranges = 0, ops = 0;
        bool inStep = false;
        foreach (var e in document.RootElement.GetProperty("traceEvents").EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat)) continue;
            inStep |= e.GetProperty("name").GetString() == "step 1";
            if (!inStep) continue;
            if (cat.GetString() == "range") ranges++;
            else ops++;
        }
        return (ranges, ops);
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
