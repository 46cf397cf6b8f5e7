using System.CommandLine;
using System.Text.Json;
using DrICL.Kernels;
using DrICL.Kernels.Ilgpu;

namespace DrICL.Cli;

/// <summary>
/// `dricl bench cuda`: on one GPU, in one run, the engine against PyTorch: causal attention forward and
/// backward TFLOP/s (against SDPA), the lm_head cross-entropy's time and memory (against F.cross_entropy
/// on materialized logits), and a 1B-class Llama train step's tokens/s and MFU (against an eager Hugging
/// Face Llama). PyTorch runs first, as a subprocess (scripts/bench_pytorch.py), so that the two never share
/// the GPU's memory; then ours. Every table has ours, PyTorch and × (above 1: ours is better).
/// </summary>
public static class CudaBench
{
    public static Command Create()
    {
        var device = new DeviceOption(defaultDevice: "cuda");
        var json = new Option<FileInfo?>("--json") { Description = "also write the results as JSON to this file" };
        var pytorch = new Option<string>("--pytorch")
        {
            Description = "the Python with torch (and transformers) for the comparison, or none",
            DefaultValueFactory = _ => "python3",
        };
        var quick = new Option<bool>("--quick") { Description = "fewer shapes and repeats" };
        var batch = BoundedOption.Create("--batch", 4, 1, 4096, "train-step rows");
        var seq = BoundedOption.Create("--seq", 2048, 2, 1 << 20, "train-step tokens per row");
        var peak = BoundedOption.Optional("--peak-tflops", 1.0, 1e6, "the GPU's dense bf16 peak for MFU (default: from its name)");
        var command = new Command("cuda", "Attention TFLOP/s, cross-entropy time and memory, 1B Llama train-step tokens/s and MFU, each against PyTorch on the same GPU")
        {
            json, pytorch, quick, batch, seq, peak,
        };
        device.AddTo(command);
        command.SetAction(parse => CliError.Guard(parse, output =>
        {
            int rows = parse.GetValue(batch), length = parse.GetValue(seq);
            using var opened = device.Open(parse);
            var gpu = opened is IlgpuDevice { IsCuda: true } ilgpu ? ilgpu : throw new CliError($"--device {opened.Name}: bench cuda runs on cuda or cuda:N");
            var plan = CudaBenchPlan.Create(gpu.Precision == ComputePrecision.Bf16 ? "bf16" : "fp32", parse.GetValue(quick), rows, length);
            return Run(gpu, plan, parse.GetValue(pytorch)!, parse.GetValue(peak), parse.GetValue(json), output);
        }));
        return command;
    }

    static int Run(IlgpuDevice gpu, CudaBenchPlan plan, string python, double? peakOverride, FileInfo? json, TextWriter output)
    {
        output.WriteLine($"{gpu}");
        var (peer, why) = PyTorchPeer.Run(python, plan, TimeSpan.FromMinutes(30));
        output.WriteLine(peer is null ? why : $"PyTorch: {peer.Versions} on {peer.Gpu}");
        output.WriteLine();

        var attention = plan.Attention.Select(c => EngineMeasurements.Attention(gpu, c, plan.Warmup, plan.Reps)).ToList();
        output.WriteLine(AttentionTable(plan, attention, peer));
        var crossEntropy = plan.CrossEntropy.Select(c => EngineMeasurements.CrossEntropy(gpu, c, plan.Warmup, plan.Reps)).ToList();
        output.WriteLine(CrossEntropyTable(plan, crossEntropy, peer));
        var train = EngineMeasurements.TrainStep(gpu, plan.Train, plan.Warmup, plan.Reps);
        var peak = peakOverride is { } p ? (p, "--peak-tflops") : BenchFlops.PeakBf16(gpu.GpuName);
        output.WriteLine(peak is { } known
            ? $"MFU against {known.Item1:F0} TFLOP/s dense bf16 ({known.Item2})"
            : $"MFU not computed: no dense bf16 peak known for {gpu.GpuName}; pass --peak-tflops");
        output.WriteLine(TrainTable(plan, train, peer, peak?.Item1));

        for (int i = 0; i < plan.Attention.Count && peer is not null; i++)
            if (peer.Attention[i].Error is { } e) output.WriteLine($"PyTorch attention {Label(plan.Attention[i])}: {e}");
        for (int i = 0; i < plan.CrossEntropy.Count && peer is not null; i++)
            if (peer.CrossEntropy[i].Error is { } e) output.WriteLine($"PyTorch cross-entropy V={plan.CrossEntropy[i].Vocab}: {e}");
        if (peer?.Train.Error is { } trainError) output.WriteLine($"PyTorch train step: {trainError}");

        if (json is not null)
        {
            var report = new
            {
                gpu = gpu.GpuName,
                plan,
                pytorch = (object?)peer ?? new { unavailable = why },
                ours = new
                {
                    attention = attention.Select(a => new { forward_ms = a.ForwardMs, backward_ms = a.BackwardMs }),
                    cross_entropy = crossEntropy.Select(c => new { ms = c.Ms, peak_bytes = c.PeakBytes }),
                    train = new { ms = train.Ms, peak_bytes = train.PeakBytes, parameters = train.Parameters },
                },
            };
            File.WriteAllText(json.FullName, JsonSerializer.Serialize(report, PyTorchPeer.Json));
            output.WriteLine($"wrote {json.FullName}");
        }
        return 0;
    }

    static string Label(AttentionCase c) => $"B={c.Batch} S={c.Seq} H={c.Heads} D={c.HeadDim}{(c.Causal ? " causal" : "")}";

    static double Tflops(double flops, double ms) => flops / (ms * 1e-3) / 1e12;

    public static string AttentionTable(CudaBenchPlan plan, IReadOnlyList<(double ForwardMs, double BackwardMs)> ours, PeerResults? peer)
    {
        var metrics = new[] { new BenchMetric("fwd TFLOP/s", "F1", true), new BenchMetric("bwd TFLOP/s", "F1", true), new BenchMetric("fwd+bwd TFLOP/s", "F1", true) };
        var rows = plan.Attention.Select((c, i) =>
        {
            double fwd = BenchFlops.AttentionForward(c.Batch, c.Seq, c.Heads, c.HeadDim, c.Causal), bwd = BenchFlops.AttentionBackward(c.Batch, c.Seq, c.Heads, c.HeadDim, c.Causal);
            var theirs = peer?.Attention[i];
            double? theirFwd = theirs?.ForwardMs, theirBwd = theirs?.BackwardMs;
            return new ComparisonRow(Label(c),
            [
                (Tflops(fwd, ours[i].ForwardMs), theirFwd is { } f ? Tflops(fwd, f) : null),
                (Tflops(bwd, ours[i].BackwardMs), theirBwd is { } b ? Tflops(bwd, b) : null),
                (Tflops(fwd + bwd, ours[i].ForwardMs + ours[i].BackwardMs), theirFwd is { } f2 && theirBwd is { } b2 ? Tflops(fwd + bwd, f2 + b2) : null),
            ]);
        }).ToList();
        return ComparisonTable.Format($"attention ({plan.Precision}; PyTorch: SDPA), FLOPs 4·B·S²·H·D per forward, halved when causal, backward 2.5×",
            metrics, rows, peer is not null);
    }

    public static string CrossEntropyTable(CudaBenchPlan plan, IReadOnlyList<(double Ms, long PeakBytes)> ours, PeerResults? peer)
    {
        var metrics = new[] { new BenchMetric("ms", "F2", false), new BenchMetric("MiB", "F0", false) };
        var rows = plan.CrossEntropy.Select((c, i) =>
        {
            var theirs = peer?.CrossEntropy[i];
            return new ComparisonRow($"N={c.Tokens} C={c.Hidden} V={c.Vocab}",
            [
                (ours[i].Ms, theirs?.Ms),
                (Mib(ours[i].PeakBytes), theirs?.PeakBytes is { } b ? Mib(b) : null),
            ]);
        }).ToList();
        return ComparisonTable.Format($"lm_head + cross-entropy, forward+backward ({plan.Precision}; PyTorch: F.cross_entropy on materialized logits); MiB = peak above the inputs",
            metrics, rows, peer is not null);
    }

    public static string TrainTable(CudaBenchPlan plan, (double Ms, long PeakBytes, long Parameters) ours, PeerResults? peer, double? peakTflops)
    {
        var c = plan.Train;
        double flops = BenchFlops.TrainStep(c.ToConfig(), c.Batch, c.Seq), tokens = (double)c.Batch * c.Seq;
        double? theirMs = peer?.Train.Ms;
        var values = new List<(double, double?)>
        {
            (tokens / (ours.Ms * 1e-3), theirMs is { } t ? tokens / (t * 1e-3) : null),
            (ours.Ms, theirMs),
        };
        var metrics = new List<BenchMetric> { new("tokens/s", "F0", true), new("ms/step", "F1", false) };
        if (peakTflops is { } peak)
        {
            metrics.Add(new BenchMetric("MFU %", "F1", true));
            values.Add((100 * BenchFlops.Mfu(flops, ours.Ms * 1e-3, peak), theirMs is { } t2 ? 100 * BenchFlops.Mfu(flops, t2 * 1e-3, peak) : null));
        }
        metrics.Add(new BenchMetric("peak GiB", "F1", false));
        values.Add((ours.PeakBytes / (double)(1L << 30), peer?.Train.PeakBytes is { } b ? b / (double)(1L << 30) : null));
        var row = new ComparisonRow($"{ours.Parameters / 1e9:F2}B Llama, {c.Batch}×{c.Seq}", values);
        return ComparisonTable.Format($"train step: forward + backward + AdamW ({plan.Precision}; PyTorch: eager LlamaForCausalLM, autocast bf16, SDPA); " +
            "FLOPs 6·matmul params·tokens + 6·L·H·D·S²·B (causal attention)", metrics, [row], peer is not null);
    }

    static double Mib(long bytes) => bytes / (double)(1L << 20);
}
