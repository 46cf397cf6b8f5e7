using System.Text.Json;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Profiling;
using NUnit.Framework;

namespace DrICL.Tests.Kernels.Profiling;

/// <summary>FLOP and byte counts against hand counts, and the counts a profiled device writes into its trace.</summary>
public class OpCostTests
{
    [Test]
    public void GemmIsTwoFlopsPerMultiplyAddAndReadsEachOperandOnce()
    {
        // [64,16] @ [16,32] -> [64,32]: 64*32*16 multiply-adds; 64*16 + 16*32 + 64*32 floats.
        Assert.That(OpCost.MatMul(64, 32, 16, accumulate: false), Is.EqualTo(new OpCost(65536, 4 * (1024 + 512 + 2048))));
        Assert.That(OpCost.MatMul(64, 32, 16, accumulate: true), Is.EqualTo(new OpCost(65536, 4 * (1024 + 512 + 2048 + 2048))));
    }

    [Test]
    public void CausalAttentionCountsTheLowerTriangle()
    {
        // B=2, T=8, H=4, KV=2, D=16: query i sees i+1 keys, 36 pairs of the 64 a full mask would have.
        var shape = new AttentionShape(2, 8, 8, 4, 2, 16);
        Assert.That(OpCost.VisiblePairs(shape, window: 0), Is.EqualTo(36));
        var forward = OpCost.Attention(shape, window: 0, backward: false);
        Assert.That(forward.Flops, Is.EqualTo(4L * 2 * 4 * 16 * 36));
        long q = 2 * 8 * 4 * 16, kv = 2 * 8 * 2 * 16, lse = 2 * 4 * 8;
        Assert.That(forward.Bytes, Is.EqualTo(4 * (q + kv + kv + q + lse)));
        var backward = OpCost.Attention(shape, window: 0, backward: true);
        Assert.That(backward.Flops, Is.EqualTo(4L * 2 * 4 * 16 * 36 * 5 / 2));
        Assert.That(backward.Bytes, Is.EqualTo(4 * (q + 2 * kv + q + q + lse + q + 2 * kv)));
    }

    [Test]
    public void CausalHalvesALongSequence()
    {
        // For T = 4096 the triangle T(T+1)/2 is half the square, to 1/T.
        var shape = new AttentionShape(1, 4096, 4096, 8, 8, 64);
        double full = 4.0 * 8 * 64 * 4096 * 4096;
        Assert.That(OpCost.Attention(shape, 0, backward: false).Flops / full, Is.EqualTo(0.5).Within(1.0 / 4096));
    }

    [Test]
    public void WindowAndKvCacheOffsetLimitTheVisibleKeys()
    {
        // Window 3 over 8 queries: 1 + 2 + 3*6 pairs.
        Assert.That(OpCost.VisiblePairs(new AttentionShape(1, 8, 8, 1, 1, 4), window: 3), Is.EqualTo(21));
        // Decoding one token after 9 cached ones sees all 10 keys.
        Assert.That(OpCost.VisiblePairs(new AttentionShape(1, 1, 10, 1, 1, 4, QueryOffset: 9), window: 0), Is.EqualTo(10));
    }

    [Test]
    public void CrossEntropyCountsEveryLogitForwardAndLabelledRowsBackward()
    {
        // N=4 rows of V=10 logits, 3 labelled. Forward: max, subtract, exp, sum per logit; nll, lse and labels per row.
        Assert.That(OpCost.CrossEntropy(4, 10, 3, backward: false), Is.EqualTo(new OpCost(4 * 4 * 10, 4 * (40 + 4 + 8))));
        // Backward: subtract lse, exp, weight on the 3 labelled rows; reads logits, labels, lse, weights, writes dlogits.
        Assert.That(OpCost.CrossEntropy(4, 10, 3, backward: true), Is.EqualTo(new OpCost(3 * 3 * 10, 4 * (40 + 12 + 40))));
    }

    [Test]
    public void TheTraceCarriesTheCountsOfEachCall()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dricl-opcost-{Guid.NewGuid():N}.json");
        try
        {
            using (var device = new ProfiledDevice(CpuDevice.Instance, path, new Dictionary<string, object>()))
            {
                var a = device.Zeros(16, 64);    // aᵀ: [64,16]
                var b = device.Zeros(32, 16);    // bᵀ: [16,32]
                var c = device.Zeros(64, 32);
                device.MatMul(a, b, c, transA: true, transB: true, accumulate: true);
                var logits = device.Zeros(4, 10);
                device.CrossEntropy(logits, [1, -100, 2, 3], device.Zeros(4), device.Zeros(4));
                var q = device.Zeros(16, 64);
                var kv = device.Zeros(16, 32);
                device.Attention(q, kv, kv, device.Zeros(16, 64), device.Zeros(64), new AttentionShape(2, 8, 8, 4, 2, 16), AttentionMask.Causal);
            }
            using var trace = JsonDocument.Parse(File.ReadAllText(path));
            var ops = trace.RootElement.GetProperty("traceEvents").EnumerateArray().Where(e => e.GetProperty("ph").GetString() == "X").ToList();
            JsonElement Args(string name) => ops.Single(e => e.GetProperty("name").GetString() == name).GetProperty("args");
            Assert.That(Args("MatMul").GetProperty("flops").GetInt64(), Is.EqualTo(65536));
            Assert.That(Args("MatMul").GetProperty("bytes").GetInt64(), Is.EqualTo(4 * (1024 + 512 + 2 * 2048)));
            Assert.That(Args("MatMul").GetProperty("shapes").GetString(), Is.EqualTo("aᵀ [16,64]  bᵀ [32,16]  c [64,32]; accumulate"));
            Assert.That(Args("CrossEntropy").GetProperty("flops").GetInt64(), Is.EqualTo(160));
            Assert.That(Args("Attention").GetProperty("flops").GetInt64(), Is.EqualTo(4L * 2 * 4 * 16 * 36));
            Assert.That(ops.Count(e => e.GetProperty("name").GetString() == "Zeros"), Is.EqualTo(10));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
