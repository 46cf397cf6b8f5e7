using System.CommandLine;
using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Text.Json;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Model.Inference;
using DrICL.Model.Safetensors;

namespace DrICL.Cli;

/// <summary>
/// `dricl bench decode`: batch-1 inference on the cpu at the llama2.c stories15M and stories110M shapes (random
/// weights written to a temporary model folder, so loading is the real path: bf16 files are memory-mapped).
/// Prefill runs a --steps-token prompt (256) as one batch; decode runs that many positions greedily from a
/// one-token prompt, as llama2.c's run.c -n 256 does. Decode reads every weight once per token, so weight bytes per
/// token times tokens/s is set beside the memory bandwidth measured in the same run (a STREAM triad); prefill is
/// compute-bound, so its FLOPs per token times tokens/s is set beside the FMA peak measured in the same run. The
/// triad measures DRAM, and a small model decodes from L3, so the rate at which a plain sum reads the model's own
/// weight bytes (WeightReadRate) is set beside decode's too. With --llama2c, run.c runs on the same weights in its
/// own checkpoint format, and its float32 stream is set beside the float32 model's read rate. Every contender runs
/// once per round (a prefill five times), interleaved, keeping its best.
/// </summary>
public static class DecodeBench
{
    public sealed record Shape(string Name, int Dim, int Layers, int Heads, int Hidden, int Vocab);

    public static readonly Shape[] Shapes = [new("stories15M", 288, 6, 6, 768, 32000), new("stories110M", 768, 12, 12, 2048, 32000)];

    public static Command Create()
    {
        var json = new Option<FileInfo?>("--json") { Description = "also write the results as JSON to this file" };
        var llama2c = new Option<FileInfo?>("--llama2c") { Description = "a built llama2.c run binary to measure on the same weights (OMP_NUM_THREADS = --threads)" };
        var threads = BoundedOption.Create("--threads", Environment.ProcessorCount, 1, int.MaxValue, "decode threads");
        var rounds = BoundedOption.Create("--rounds", 3, 1, int.MaxValue, "interleaved rounds; each figure is its best round");
        var steps = BoundedOption.Create("--steps", 256, 2, int.MaxValue, "prompt tokens of the prefill, positions decoded (and llama2.c's -n)");
        var command = new Command("decode", "Batch-1 prefill and decode tokens/s at the stories15M and stories110M shapes, f32 and bf16, against memory bandwidth") { json, llama2c, threads, steps, rounds };
        command.SetAction(parse => CliError.Guard(parse, output =>
        {
            int t = parse.GetValue(threads), n = parse.GetValue(steps), r = parse.GetValue(rounds);
            var peer = parse.GetValue(llama2c);
            if (peer is not null && !peer.Exists) throw new CliError($"--llama2c {peer.FullName}: file not found");
            var triad = new Triad();
            double bandwidth = 0, peak = 0;
            var results = new List<(Shape Shape, WeightFormat Format, double Prefill, double Decode, long Bytes, double Read, double? Peer)>();
            string root = Path.Combine(Path.GetTempPath(), $"dricl-bench-decode-{Environment.ProcessId}");
            try
            {
                foreach (var shape in Shapes)
                {
                    // Every contender runs once per round, interleaved, and keeps its best round: on a shared
                    // machine whose load comes and goes, best-of-interleaved compares like with like.
                    var formats = new[] { WeightFormat.F32, WeightFormat.Bf16 };
                    var layout = new CheckpointLayout(Config(shape, WeightFormat.F32, n));  // names and shapes, whatever the dtype
                    var weights = RandomWeights(layout);
                    var models = formats.Select(format =>
                    {
                        string folder = Path.Combine(root, $"{shape.Name}-{format}");
                        WriteModel(shape, format, layout, weights, folder, n);
                        return new Contender(DecodeModel.Load(folder, format, n, t), n, t);
                    }).ToArray();
                    string? checkpoint = peer is null ? null : WriteLlama2c(shape, layout, weights, Path.Combine(root, shape.Name), n);
                    double peerRate = 0;
                    try
                    {
                        for (int round = 0; round < r; round++)
                        {
                            bandwidth = Math.Max(bandwidth, triad.Measure(t));
                            peak = Math.Max(peak, FmaPeak.Measure(t));
                            if (checkpoint is not null) peerRate = Math.Max(peerRate, RunLlama2c(peer!.FullName, checkpoint, t, n));
                            foreach (var m in models) m.Round();
                        }
                        for (int i = 0; i < formats.Length; i++)
                            results.Add((shape, formats[i], models[i].Prefill, models[i].Decode, models[i].Model.Weights.BytesPerToken, models[i].Read, checkpoint is null ? null : peerRate));
                    }
                    finally
                    {
                        foreach (var m in models) m.Model.Dispose();
                    }
                }
            }
            finally
            {
                if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
            }
            output.WriteLine($"memory bandwidth (STREAM triad, {t} threads, best of {r * Shapes.Length}): {bandwidth:F1} GB/s; FMA peak ({t} threads): {peak:F0} GFLOP/s");
            output.WriteLine($"each figure the best of {r} interleaved rounds of {n} tokens (a prefill runs {Contender.PrefillsPerRound} times a round, a read of the weights {Contender.ReadsPerRound} times)");
            output.WriteLine($"{"shape",-12} {"dtype",-5} {"prefill tok/s",14} {"GFLOP/s",8} {"of peak",8} {"decode tok/s",13} {"bytes/token",12} {"GB/s",7} {"of triad",9} {"read GB/s",10} {"of read",8} {"prefill ÷ decode",17}{(peer is null ? "" : $" {"llama2.c tok/s",15} {"×",6}")}");
            var rows = new List<object>();
            foreach (var (shape, format, prefill, decode, bytes, read, peerRate) in results)
            {
                double gbs = bytes * decode / 1e9, gflops = PrefillFlopsPerToken(shape, n) * prefill / 1e9;
                string dtype = format == WeightFormat.F32 ? "f32" : "bf16";
                output.WriteLine($"{shape.Name,-12} {dtype,-5} {prefill,14:F0} {gflops,8:F0} {gflops / peak,8:P0} {decode,13:F1} {bytes,12} {gbs,7:F1} {gbs / bandwidth,8:P0} {read,10:F1} {gbs / read,7:P0} {prefill / decode,16:F1}×" +
                    (peerRate is { } p ? $" {p,15:F1} {decode / p,6:F2}" : ""));
                rows.Add(new { shape = shape.Name, dtype, prefill_tok_s = Math.Round(prefill, 1), prefill_gflop_s = Math.Round(gflops, 1), decode_tok_s = Math.Round(decode, 1), bytes_per_token = bytes,
                    weight_read_gb_s = Math.Round(read, 2), llama2c_decode_tok_s = peerRate is { } q ? Math.Round(q, 1) : (double?)null });
            }
            // llama2.c reads the same float32 weights from its own file: its stream beside our float32 model's read rate.
            foreach (var (shape, format, _, _, bytes, read, peerRate) in results)
                if (format == WeightFormat.F32 && peerRate is { } p)
                    output.WriteLine($"llama2.c at {shape.Name}: {bytes} bytes/token at {bytes * p / 1e9:F1} GB/s, {bytes * p / 1e9 / read:P0} of the f32 weights' read rate");
            if (parse.GetValue(json) is { } file)
            {
                File.WriteAllText(file.FullName, JsonSerializer.Serialize(new { bandwidth_gb_s = Math.Round(bandwidth, 2), fma_peak_gflop_s = Math.Round(peak, 1), decode = rows },
                    new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
                output.WriteLine($"wrote {file.FullName}");
            }
            return 0;
        }));
        return command;
    }

    static ModelConfig Config(Shape s, WeightFormat format, int steps) => new(s.Vocab, s.Dim, s.Hidden, s.Layers, s.Heads, tieWordEmbeddings: true,
        torchDtype: format == WeightFormat.Bf16 ? "bfloat16" : "float32", maxPositionEmbeddings: steps);

    // One random N(0, 0.02)-ish array per distinct shape, norms all ones, by tensor name: values do not matter to speed, bytes do.
    static Dictionary<string, float[]> RandomWeights(CheckpointLayout layout)
    {
        var rng = new SplitMix64(7);
        var byShape = new Dictionary<string, float[]>();
        float[] Values(int[] shape)
        {
            string key = Tensor.Format(shape);
            if (byShape.TryGetValue(key, out var v)) return v;
            v = new float[Tensor.SizeOf(shape)];
            for (int i = 0; i < v.Length; i++) v[i] = shape.Length == 1 ? 1f : (float)(rng.NextDouble() - 0.5) * 0.07f;
            return byShape[key] = v;
        }
        return layout.Tensors.ToDictionary(t => t.Name, t => Values(t.Shape));
    }

    // The weights in format (norms stay float32) as the folder's safetensors file, beside its config.json.
    static void WriteModel(Shape s, WeightFormat format, CheckpointLayout layout, Dictionary<string, float[]> weights, string folder, int steps)
    {
        Directory.CreateDirectory(folder);
        var dtype = format == WeightFormat.Bf16 ? DType.BF16 : DType.F32;
        SafetensorsWriter.Write(Path.Combine(folder, SafetensorsCheckpoint.SingleFileName),
            layout.Tensors.Select(t => SafetensorsTensor.FromFloats(t.Name, t.Shape, weights[t.Name], t.Shape.Length == 1 ? DType.F32 : dtype)));
        File.WriteAllText(Path.Combine(folder, "config.json"), Config(s, format, steps).ToJson());
    }

    /// <summary>One loaded model and its best prefill and decode rates so far.</summary>
    sealed class Contender
    {
        readonly int[] prompt;
        readonly int threads;
        readonly WeightReadRate weights;
        public DecodeModel Model { get; }
        public double Prefill { get; private set; }
        public double Decode { get; private set; }
        /// <summary>The best rate, GB/s, at which a plain sum read the weights a decode step reads (right after a decode run, in its cache state).</summary>
        public double Read { get; private set; }

        public Contender(DecodeModel model, int steps, int threads)
        {
            Model = model;
            this.threads = threads;
            weights = new WeightReadRate(model.Weights);
            prompt = new int[steps];
            var rng = new SplitMix64(3);
            for (int i = 0; i < prompt.Length; i++) prompt[i] = rng.NextInt(model.Config.VocabSize);
            TimePrefill();  // warm-up: JIT tiers and page faults of the mapped file
            TimeDecode();
        }

        // A prefill takes a tenth of the time of a decode run, so a passing hiccup of the machine costs it more:
        // each round keeps the best of PrefillsPerRound prefills against one decode run.
        public void Round()
        {
            for (int i = 0; i < PrefillsPerRound; i++) Prefill = Math.Max(Prefill, TimePrefill());
            Decode = Math.Max(Decode, TimeDecode());
            Read = Math.Max(Read, weights.Measure(threads, ReadsPerRound));
        }

        public const int PrefillsPerRound = 5, ReadsPerRound = 8;

        double TimePrefill()
        {
            Model.Truncate(0);
            var clock = Stopwatch.StartNew();
            Model.Prefill(prompt);
            return prompt.Length / clock.Elapsed.TotalSeconds;
        }

        // From a one-token prompt through every position, greedily.
        double TimeDecode()
        {
            Model.Truncate(0);
            var clock = Stopwatch.StartNew();
            int token = Generation.ArgMax(Model.Step(1));
            for (int pos = 1; pos < prompt.Length; pos++) token = Generation.ArgMax(Model.Step(token));
            return prompt.Length / clock.Elapsed.TotalSeconds;
        }
    }

    // Per prompt token: 2 FLOPs per weight of the layers, 4·D per (query, visible key) pair and head (scores and
    // the weighted sum of values; a causal n-token prompt has n(n+1)/2 pairs), and the last position's lm_head.
    static double PrefillFlopsPerToken(Shape s, int n)
    {
        double layerWeights = 4.0 * s.Dim * s.Dim + 3.0 * s.Dim * s.Hidden;
        return 2 * s.Layers * layerWeights + 2.0 * s.Layers * s.Dim * (n + 1) + 2.0 * s.Vocab * s.Dim / n;
    }

    /// <summary>
    /// The machine's multiply-add peak at the vector width the GEMM micro-kernels use: 12 independent FMA chains per
    /// thread (enough to cover the FMA latency on two ports), all in registers. FLOPs counted as 2 per lane.
    /// </summary>
    static class FmaPeak
    {
        const long Iterations = 20_000_000;
        static float sink;  // keeps the chains' results alive

        public static double Measure(int threads)
        {
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
            {
                sink = Vector512.IsHardwareAccelerated ? Chains512(Iterations) : Chains256(Iterations);
            });
            int lanes = Vector512.IsHardwareAccelerated ? Vector512<float>.Count : Vector256<float>.Count;
            return threads * Iterations * 12.0 * lanes * 2 / clock.Elapsed.TotalSeconds / 1e9;
        }

        static float Chains512(long n)
        {
            var m = Vector512.Create(0.9999f); var c = Vector512.Create(1e-4f);
            Vector512<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
            for (long i = 0; i < n; i++)
            {
                a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c); a2 = Vector512.FusedMultiplyAdd(a2, m, c);
                a3 = Vector512.FusedMultiplyAdd(a3, m, c); a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
                a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c); a8 = Vector512.FusedMultiplyAdd(a8, m, c);
                a9 = Vector512.FusedMultiplyAdd(a9, m, c); a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
            }
            return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
        }

        static float Chains256(long n)
        {
            var m = Vector256.Create(0.9999f); var c = Vector256.Create(1e-4f);
            Vector256<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
            for (long i = 0; i < n; i++)
            {
                a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c); a2 = Vector256.FusedMultiplyAdd(a2, m, c);
                a3 = Vector256.FusedMultiplyAdd(a3, m, c); a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
                a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c); a8 = Vector256.FusedMultiplyAdd(a8, m, c);
                a9 = Vector256.FusedMultiplyAdd(a9, m, c); a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
            }
            return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
        }
    }

    /// <summary>STREAM triad a = b + s·c over arrays far larger than the caches; bytes counted as STREAM does (3 per element, no write-allocate).</summary>
    sealed class Triad
    {
        const int N = 1 << 25;  // 128 MiB per array
        readonly float[] a = new float[N], b = Enumerable.Repeat(1f, N).ToArray(), c = Enumerable.Repeat(2f, N).ToArray();

        public double Measure(int threads)
        {
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                int start = (int)((long)N * t / threads), end = (int)((long)N * (t + 1) / threads);
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(c.AsSpan(start, end - start), 3f, b.AsSpan(start, end - start), a.AsSpan(start, end - start));
            });
            return 3.0 * N * sizeof(float) / clock.Elapsed.TotalSeconds / 1e9;
        }
    }

    /// <summary>
    /// Writes the shape's weights as a llama2.c checkpoint (legacy format: 7-int header, then the
    /// float32 tensors in run.c's order; a positive vocab size means a shared classifier) and a tokenizer.bin
    /// of placeholder pieces next to it; returns the checkpoint's path.
    /// </summary>
    static string WriteLlama2c(Shape s, CheckpointLayout layout, Dictionary<string, float[]> w, string folder, int steps)
    {
        Directory.CreateDirectory(folder);
        string model = Path.Combine(folder, "llama2c.bin"), tokenizer = Path.Combine(folder, "tokenizer.bin");
        using (var file = new BinaryWriter(File.Create(model)))
        {
            foreach (int v in new[] { s.Dim, s.Hidden, s.Layers, s.Heads, s.Heads, s.Vocab, steps }) file.Write(v);
            void Write(CheckpointTensor t) { foreach (float x in w[t.Name]) file.Write(x); }
            void PerLayer(Func<DecoderLayer<CheckpointTensor, CheckpointTensor>, CheckpointTensor> role) { foreach (var layer in layout.Layers) Write(role(layer)); }
            Write(layout.Embedding);
            PerLayer(l => l.InputNorm);
            PerLayer(l => l.Q);
            PerLayer(l => l.K);
            PerLayer(l => l.V);
            PerLayer(l => l.O);
            PerLayer(l => l.PostNorm);
            PerLayer(l => l.Gate);  // run.c's w1, w2, w3
            PerLayer(l => l.Down);
            PerLayer(l => l.Up);
            Write(layout.Norm);
            for (int i = 0; i < steps * (s.Dim / s.Heads); i++) file.Write(0f);  // the unused freq_cis tables
        }
        using (var file = new BinaryWriter(File.Create(tokenizer)))
        {
            file.Write(8);
            for (int i = 0; i < s.Vocab; i++)
            {
                var piece = System.Text.Encoding.ASCII.GetBytes(i switch { 0 => "<unk>", 1 => "<s>", 2 => "</s>", < 259 => $"<0x{i - 3:X2}>", _ => $"t{i}" });
                file.Write(0f);
                file.Write(piece.Length);
                file.Write(piece);
            }
        }
        return model;
    }

    /// <summary>Runs `run model.bin -n steps -t 0 -z tokenizer.bin` and returns the tok/s it reports.</summary>
    static double RunLlama2c(string binary, string model, int threads, int steps)
    {
        string tokenizer = Path.Combine(Path.GetDirectoryName(model)!, "tokenizer.bin");
        var start = new ProcessStartInfo(binary, [model, "-n", steps.ToString(), "-t", "0", "-z", tokenizer])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.Environment["OMP_NUM_THREADS"] = threads.ToString();
        using var process = Process.Start(start) ?? throw new CliError($"--llama2c {binary}: could not start");
        process.StandardOutput.ReadToEnd();
        string err = process.StandardError.ReadToEnd();
        process.WaitForExit();
        var line = err.Split('\n').FirstOrDefault(l => l.StartsWith("achieved tok/s:", StringComparison.Ordinal))
            ?? throw new CliError($"--llama2c {binary}: no 'achieved tok/s' line (exit {process.ExitCode}): {err.Trim()}");
        return double.Parse(line["achieved tok/s:".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
