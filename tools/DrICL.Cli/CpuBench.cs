using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Profiling;
using DrICL.Model;
using DrICL.Model.Autograd;
using DrICL.Training;
using DrICL.Training.Objectives;

namespace DrICL.Cli;

/// <summary>
/// `dricl bench cpu`: fp32 GEMM GFLOP/s at square sizes, the chunked lm_head cross-entropy against materialized
/// logits, and forward+backward training throughput of a ~20M-parameter Llama at T=512 on the CPU device. Each figure is the best of several timed repeats after
/// a warm-up, so JIT tiering and page faults stay out of it.
/// </summary>
public static class CpuBench
{
    public static Command Create()
    {
        var json = new Option<FileInfo?>("--json") { Description = "also write the results as JSON to this file" };
        var command = new Command("cpu", "GEMM GFLOP/s (256..2048, fp32), chunked vs materialized lm_head loss, train tokens/s of a ~20M-parameter Llama at T=512") { json };
        var profile = new ProfileOption();   // records the train measurement
        profile.AddTo(command);
        command.SetAction(parse => CliError.Guard(parse, output =>
        {
            var gemm = new List<object>();
            foreach (int size in new[] { 256, 512, 1024, 2048 })
            {
                double gflops = MeasureGemm(size);
                output.WriteLine($"gemm {size}x{size}x{size}: {gflops,8:F1} GFLOP/s");
                gemm.Add(new { m = size, n = size, k = size, gflops = Math.Round(gflops, 2) });
            }
            var loss = MeasureLmHeadLoss();
            output.WriteLine($"lm_head loss fwd+bwd N={LossN} C={LossC} V={LossV}: chunked {loss.ChunkedSeconds * 1e3:F0} ms, {loss.ChunkedBytes / 1048576.0:F0} MiB scratch; " +
                $"materialized {loss.MaterializedSeconds * 1e3:F0} ms, {loss.MaterializedBytes / 1048576.0:F0} MiB logits+dlogits");
            double tokensPerSecond;
            long parameters;
            using (var device = profile.Wrap(parse, CpuDevice.Instance, output)) (tokensPerSecond, parameters) = MeasureTraining(device);
            output.WriteLine($"train fwd+bwd, {parameters / 1e6:F1}M-parameter Llama, T=512: {tokensPerSecond:F0} tokens/s");
            if (parse.GetValue(json) is { } file)
            {
                File.WriteAllText(file.FullName, JsonSerializer.Serialize(new
                {
                    gemm,
                    lm_head_loss = new
                    {
                        n = LossN, c = LossC, v = LossV,
                        chunked_ms = Math.Round(loss.ChunkedSeconds * 1e3, 1), chunked_scratch_bytes = loss.ChunkedBytes,
                        materialized_ms = Math.Round(loss.MaterializedSeconds * 1e3, 1), materialized_bytes = loss.MaterializedBytes,
                    },
                    train_tokens_per_s = Math.Round(tokensPerSecond, 1),
                }, new JsonSerializerOptions { WriteIndented = true }));
                output.WriteLine($"wrote {file.FullName}");
            }
            return 0;
        }));
        return command;
    }

    static double MeasureGemm(int n)
    {
        var rng = new Random(1);
        var a = Enumerable.Range(0, n * n).Select(_ => (float)rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, n * n).Select(_ => (float)rng.NextDouble()).ToArray();
        var c = new float[n * n];
        var device = CpuDevice.Instance;
        var ta = device.Upload(a, n, n);
        var tb = device.Upload(b, n, n);
        var tc = device.Upload(c, n, n);
        double flops = 2.0 * n * n * n, best = double.MaxValue;
        int repeats = Math.Max(3, (int)(2e10 / flops));
        device.MatMul(ta, tb, tc, false, false, false);
        for (int r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            device.MatMul(ta, tb, tc, false, false, false);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return flops / best / 1e9;
    }

    const int LossN = 2048, LossC = 512, LossV = 32000;

    /// <summary>
    /// Forward+backward of a token-mean loss through the lm_head, x [N,C] @ wᵀ [C,V]: Ops.LinearCrossEntropy with
    /// its default chunk against the same device calls on the whole [N,V] logits (and [N,V] dlogits).
    /// </summary>
    static (double ChunkedSeconds, long ChunkedBytes, double MaterializedSeconds, long MaterializedBytes) MeasureLmHeadLoss()
    {
        var device = CpuDevice.Instance;
        var rng = new Random(3);
        var x = device.Upload(Enumerable.Range(0, LossN * LossC).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(), LossN, LossC);
        var w = device.Upload(Enumerable.Range(0, LossV * LossC).Select(_ => 0.05f * ((float)rng.NextDouble() - 0.5f)).ToArray(), LossV, LossC);
        var labels = Enumerable.Range(0, LossN).Select(_ => rng.Next(LossV)).ToArray();
        var weights = Enumerable.Repeat(1f / LossN, LossN).ToArray();

        void Chunked()
        {
            var tape = new Tape(device);
            var (vx, vw) = (new Var(x, requiresGrad: true), new Var(w, requiresGrad: true));
            Ops.LinearCrossEntropy(tape, vx, vw, labels).Weights = weights;
            tape.Backward();
        }
        void Materialized()
        {
            var (logits, dlogits) = (device.Zeros(LossN, LossV), device.Zeros(LossN, LossV));
            var (nll, lse) = (device.Zeros(LossN), device.Zeros(LossN));
            var (dx, dw) = (device.Zeros(LossN, LossC), device.Zeros(LossV, LossC));
            device.MatMul(x, w, logits, transA: false, transB: true, accumulate: false);
            device.CrossEntropy(logits, labels, nll, lse);
            device.CrossEntropyBackward(logits, labels, lse, device.Upload(weights, LossN), dlogits);
            device.MatMul(dlogits, w, dx, transA: false, transB: false, accumulate: false);
            device.MatMul(dlogits, x, dw, transA: true, transB: false, accumulate: true);
        }
        static double Best(Action run)
        {
            run();
            double best = double.MaxValue;
            for (int r = 0; r < 3; r++)
            {
                var sw = Stopwatch.StartNew();
                run();
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            return best;
        }
        long chunkedBytes = (long)Ops.DefaultChunkRows(LossN, LossV) * LossV * sizeof(float);
        long materializedBytes = 2L * LossN * LossV * sizeof(float);
        return (Best(Chunked), chunkedBytes, Best(Materialized), materializedBytes);
    }

    /// <summary>The bench model: 8 layers, d=384, 6 heads of 64, MLP 1024, vocab 8192, untied (20.5M parameters).</summary>
    public static ModelConfig BenchModel => new(vocabSize: 8192, hiddenSize: 384, intermediateSize: 1024, layers: 8, heads: 6);

    static (double TokensPerSecond, long Parameters) MeasureTraining(IDevice device)
    {
        const int seq = 512;
        var model = ModelInit.Random(BenchModel, device, seed: 1);
        var rng = new Random(2);
        var ids = Enumerable.Range(0, seq).Select(_ => rng.Next(BenchModel.VocabSize)).ToArray();
        var labels = ids.Skip(1).Append(-100).ToArray();
        var batch = new TokenBatch(1, seq, ids, labels, new int[seq], new int[seq], Enumerable.Range(0, seq).ToArray());
        var objective = new InstructionTuning();
        objective.Run(model, batch, backward: true);
        double best = double.MaxValue;
        for (int r = 0; r < 3; r++)
        {
            using var step = Profiler.Range("step", r + 1);
            model.ZeroGrad();
            var sw = Stopwatch.StartNew();
            objective.Run(model, batch, backward: true);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return (seq / best, model.ParameterCount);
    }
}
