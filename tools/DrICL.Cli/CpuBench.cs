using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Training;
using DrICL.Training.Objectives;

namespace DrICL.Cli;

/// <summary>
/// `dricl bench cpu`: fp32 GEMM GFLOP/s at square sizes and forward+backward training throughput of a
/// ~20M-parameter Llama at T=512 on the CPU device. Each figure is the best of several timed repeats after
/// a warm-up, so JIT tiering and page faults stay out of it.
/// </summary>
public static class CpuBench
{
    public static Command Create()
    {
        var json = new Option<FileInfo?>("--json") { Description = "also write the results as JSON to this file" };
        var command = new Command("cpu", "GEMM GFLOP/s (256..2048, fp32) and train tokens/s of a ~20M-parameter Llama at T=512") { json };
        command.SetAction(parse => CliError.Guard(parse, output =>
        {
            var gemm = new List<object>();
            foreach (int size in new[] { 256, 512, 1024, 2048 })
            {
                double gflops = MeasureGemm(size);
                output.WriteLine($"gemm {size}x{size}x{size}: {gflops,8:F1} GFLOP/s");
                gemm.Add(new { m = size, n = size, k = size, gflops = Math.Round(gflops, 2) });
            }
            var (tokensPerSecond, parameters) = MeasureTraining();
            output.WriteLine($"train fwd+bwd, {parameters / 1e6:F1}M-parameter Llama, T=512: {tokensPerSecond:F0} tokens/s");
            if (parse.GetValue(json) is { } file)
            {
                File.WriteAllText(file.FullName, JsonSerializer.Serialize(new { gemm, train_tokens_per_s = Math.Round(tokensPerSecond, 1) }, new JsonSerializerOptions { WriteIndented = true }));
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

    /// <summary>The bench model: 8 layers, d=384, 6 heads of 64, MLP 1024, vocab 8192, untied (20.5M parameters).</summary>
    public static ModelConfig BenchModel => new(vocabSize: 8192, hiddenSize: 384, intermediateSize: 1024, layers: 8, heads: 6);

    static (double TokensPerSecond, long Parameters) MeasureTraining()
    {
        const int seq = 512;
        var model = ModelInit.Random(BenchModel, CpuDevice.Instance, seed: 1);
        var rng = new Random(2);
        var ids = Enumerable.Range(0, seq).Select(_ => rng.Next(BenchModel.VocabSize)).ToArray();
        var labels = ids.Skip(1).Append(-100).ToArray();
        var batch = new TokenBatch(1, seq, ids, labels, new int[seq], new int[seq], Enumerable.Range(0, seq).ToArray());
        var objective = new InstructionTuning();
        objective.Run(model, batch, backward: true);
        double best = double.MaxValue;
        for (int r = 0; r < 3; r++)
        {
            model.ZeroGrad();
            var sw = Stopwatch.StartNew();
            objective.Run(model, batch, backward: true);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return (seq / best, model.ParameterCount);
    }
}
