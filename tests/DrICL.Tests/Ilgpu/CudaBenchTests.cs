using System.Runtime.InteropServices;
using DrICL.Cli;
using NUnit.Framework;

namespace DrICL.Tests.Ilgpu;

/// <summary>`dricl bench cuda` without a GPU: its FLOP and MFU arithmetic, its tables, the PyTorch peer's failure paths and the no-GPU error.</summary>
public class CudaBenchTests
{
    [Test]
    public void AttentionFlopsFollowFlashAttention()
    {
        // 4 * 2 * 1024^2 * 16 * 128 = 17.18 GFLOP, half when causal, backward 2.5x.
        Assert.That(BenchFlops.AttentionForward(2, 1024, 16, 128, causal: false), Is.EqualTo(17_179_869_184.0));
        Assert.That(BenchFlops.AttentionForward(2, 1024, 16, 128, causal: true), Is.EqualTo(8_589_934_592.0));
        Assert.That(BenchFlops.AttentionBackward(2, 1024, 16, 128, causal: true), Is.EqualTo(2.5 * 8_589_934_592.0));
    }

    [Test]
    public void Llama1BHasItsPublishedParameterCount()
    {
        var config = CudaBenchPlan.Llama1B(4, 2048).ToConfig();
        // Llama-3.2-1B: 1,235,814,400 parameters, of which 67,584 are norm weights.
        Assert.That(BenchFlops.MatmulParameters(config), Is.EqualTo(1_235_814_400L - 67_584));
        Assert.That(BenchFlops.MatmulParameters(new DrICL.Model.ModelConfig(100, 8, 16, 1, 2)), Is.EqualTo(8 * 8 * 4 + 3 * 8 * 16 + 100 * 8));
    }

    [Test]
    public void TrainStepFlopsAndMfu()
    {
        var config = CudaBenchPlan.Llama1B(4, 2048).ToConfig();
        double matmul = 6.0 * 1_235_746_816 * 8192;
        double attention = 12.0 * 16 * 32 * 64 * 2048.0 * 2048 * 4 / 2;
        Assert.That(BenchFlops.TrainStep(config, 4, 2048), Is.EqualTo(matmul + attention));
        Assert.That(BenchFlops.Mfu(989e12 * 0.5, 1.0, 989), Is.EqualTo(0.5));
        Assert.That(BenchFlops.Mfu(BenchFlops.TrainStep(config, 4, 2048), 0.5, 989), Is.EqualTo((matmul + attention) / 0.5 / 989e12).Within(1e-12));
    }

    [TestCase("NVIDIA H100 80GB HBM3", 989, "H100 SXM")]
    [TestCase("NVIDIA H100 PCIe", 756, "H100 PCIe")]
    [TestCase("NVIDIA H100 NVL", 835, "H100 NVL")]
    [TestCase("NVIDIA H200", 989, "H200")]
    [TestCase("NVIDIA GH200 480GB", 989, "GH200")]
    [TestCase("NVIDIA A100-SXM4-80GB", 312, "A100")]
    public void PeakBf16ByGpuName(string name, double tflops, string gpu) => Assert.That(BenchFlops.PeakBf16(name), Is.EqualTo((tflops, gpu)));

    [Test]
    public void AnUnknownGpuHasNoPeak() => Assert.That(BenchFlops.PeakBf16("NVIDIA GeForce RTX 4090"), Is.Null);

    [Test]
    public void TheTableHasOursPyTorchAndTheFactorInWhicheverDirectionIsBetter()
    {
        var metrics = new[] { new BenchMetric("TFLOP/s", "F1", true), new BenchMetric("ms", "F2", false) };
        var rows = new[] { new ComparisonRow("case A", [(300.0, 200.0), (2.0, 3.0)]), new ComparisonRow("case B", [(50.0, null), (4.0, null)]) };
        string table = ComparisonTable.Format("title", metrics, rows, withPyTorch: true);
        Assert.That(table, Is.EqualTo(
            "title\n" +
            "        ours TFLOP/s  pytorch TFLOP/s     ×  ours ms  pytorch ms     ×\n" +
            "case A         300.0            200.0  1.50     2.00        3.00  1.50\n" +
            "case B          50.0                -     -     4.00           -     -\n"));
        Assert.That(ComparisonTable.Format("title", metrics, rows, withPyTorch: false), Is.EqualTo(
            "title\n" +
            "        ours TFLOP/s  ours ms\n" +
            "case A         300.0     2.00\n" +
            "case B          50.0     4.00\n"));
    }

    [Test]
    public void TheTablesUseTheFormulas()
    {
        var plan = CudaBenchPlan.Create("bf16", quick: true, 4, 2048);
        var c = plan.Attention[0];
        double fwd = BenchFlops.AttentionForward(c.Batch, c.Seq, c.Heads, c.HeadDim, true);
        // ours at exactly 100 TFLOP/s forward, PyTorch at 50.
        var ours = plan.Attention.Select(_ => (fwd / 1e11, 2.5 * fwd / 1e11)).ToList();
        var peer = new PeerResults("torch 2.x", "GPU", [.. plan.Attention.Select(_ => new PeerAttention(fwd / 5e10, 2.5 * fwd / 5e10, null))],
            [.. plan.CrossEntropy.Select(_ => new PeerMeasurement(10, 3L << 30, null))], new PeerMeasurement(1000, 40L << 30, null));
        string attention = CudaBench.AttentionTable(plan, ours, peer);
        Assert.That(attention, Does.Match(@"causal +100\.0 +50\.0 +2\.00 +100\.0 +50\.0 +2\.00 +100\.0 +50\.0 +2\.00\n"));
        string train = CudaBench.TrainTable(plan, (500, 30L << 30, 1_235_814_400), peer, 989);
        double mfu = 100 * BenchFlops.TrainStep(plan.Train.ToConfig(), 4, 2048) / 0.5 / 989e12;
        Assert.That(train, Does.Contain("1.24B Llama, 4×2048").And.Contain("16384").And.Contain(mfu.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(CudaBench.CrossEntropyTable(plan, [(5.0, 1L << 30)], peer), Does.Contain("1024").And.Contain("3072").And.Contain("3.00"));
    }

    [Test]
    public void QuickPlansFewerCasesAtSixteenThousandTokens()
    {
        var full = CudaBenchPlan.Create("bf16", quick: false, 4, 2048);
        var quick = CudaBenchPlan.Create("bf16", quick: true, 4, 2048);
        Assert.That(full.Attention, Has.Count.EqualTo(8));
        Assert.That(quick.Attention.Count, Is.LessThan(full.Attention.Count));
        Assert.That(full.Attention.Select(a => a.Batch * a.Seq).Distinct(), Is.EqualTo(new[] { 16384 }));
        Assert.That(full.Attention.Select(a => a.Heads * a.HeadDim).Distinct(), Is.EqualTo(new[] { 2048 }));
        Assert.That(full.CrossEntropy.Select(c => c.Vocab), Is.EqualTo(new[] { 128256, 32000 }));
    }

    [Test]
    public void PyTorchOffOrMissingIsOneLineAndNoResults()
    {
        var plan = CudaBenchPlan.Create("bf16", quick: true, 1, 16);
        var (off, whyOff) = PyTorchPeer.Run("none", plan, TimeSpan.FromMinutes(1));
        Assert.That((off, whyOff), Is.EqualTo(((PeerResults?)null, "PyTorch comparison off (--pytorch none)")));
        var (missing, whyMissing) = PyTorchPeer.Run("/nonexistent/python3", plan, TimeSpan.FromMinutes(1));
        Assert.That(missing, Is.Null);
        Assert.That(whyMissing, Does.StartWith("no PyTorch comparison: cannot run /nonexistent/python3").And.Not.Contain('\n'));
    }

    [Test]
    public void PythonWithoutTorchSaysSo()
    {
        string python = new[] { "/usr/bin/python3", "/usr/local/bin/python3" }.Concat(
            (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "python3"))).FirstOrDefault(File.Exists)
            ?? throw new IgnoreException("no python3 here");
        var (results, why) = PyTorchPeer.Run(python, CudaBenchPlan.Create("bf16", quick: true, 1, 16), TimeSpan.FromMinutes(1));
        if (results is not null) Assert.Ignore($"{python} has torch and a GPU");
        Assert.That(why, Does.Match("^no PyTorch comparison: (torch is not installed for .*|torch .* sees no CUDA GPU)$"));
    }

    [Test]
    public void PeerResultsParseWithPerCaseErrors()
    {
        var results = PyTorchPeer.Parse("""
            {"versions": "torch 2.5.1, transformers 4.46.0", "gpu": "NVIDIA H100 80GB HBM3",
             "attention": [{"forward_ms": 1.5, "backward_ms": 4.0}, {"error": "out of memory"}],
             "cross_entropy": [{"ms": 12.5, "peak_bytes": 6442450944}],
             "train": {"error": "transformers is not installed"}}
            """);
        Assert.That(results.Attention, Is.EqualTo(new[] { new PeerAttention(1.5, 4.0, null), new PeerAttention(null, null, "out of memory") }));
        Assert.That(results.CrossEntropy.Single(), Is.EqualTo(new PeerMeasurement(12.5, 6442450944L, null)));
        Assert.That(results.Train, Is.EqualTo(new PeerMeasurement(null, null, "transformers is not installed")));
    }

    [Test]
    public void ThePlanReachesPythonInSnakeCase()
    {
        string json = System.Text.Json.JsonSerializer.Serialize(CudaBenchPlan.Create("fp32", quick: true, 2, 512), PyTorchPeer.Json);
        Assert.That(json, Does.Contain("\"precision\": \"fp32\"").And.Contain("\"head_dim\": 128").And.Contain("\"kv_heads\": 8")
            .And.Contain("\"tie_word_embeddings\": true").And.Contain("\"rope_theta\": 500000").And.Contain("\"vocab_size\": 128256"));
        Assert.That(File.Exists(PyTorchPeer.ScriptPath), PyTorchPeer.ScriptPath);
    }

    [Test]
    public void WithoutAGpuTheBenchIsAOneLineCliError()
    {
        if (NativeLibrary.TryLoad("libcuda.so.1", out var handle))
        {
            NativeLibrary.Free(handle);
            Assert.Ignore("a CUDA driver is installed here");
        }
        var (exit, output, error) = CliRunner.Run("bench", "cuda", "--pytorch", "none");
        Assert.That(exit, Is.EqualTo(CliError.ExitCode));
        Assert.That(output, Is.Empty);
        Assert.That(error.TrimEnd(), Does.StartWith("error: cannot open the CUDA device:").And.Not.Contain('\n'));
        Assert.That(CliRunner.Run("bench", "cuda", "--device", "cpu").Err, Does.Contain("bench cuda runs on cuda or cuda:N"));
    }
}
