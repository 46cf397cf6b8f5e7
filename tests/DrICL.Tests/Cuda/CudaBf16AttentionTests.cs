using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Cuda;
using DrICL.Tests.Ilgpu;
using NUnit.Framework;
using static DrICL.Tests.Cuda.CudaParityTests;

namespace DrICL.Tests.Cuda;

/// <summary>
/// The bf16 tensor-core attention kernels (a CudaDevice opened in ComputePrecision.Bf16) against CpuDevice's
/// fp64-accumulated reference, forward and backward, over every mask, grouped-query and multi-query heads,
/// KV-cache offsets, lengths around the 64-row tiles, and head dims of each instantiation plus one above 128
/// that must take the fp32 kernels. Needs an NVIDIA GPU of compute capability 8.0+; skipped without a driver.
/// </summary>
public class CudaBf16AttentionTests() : GpuFixture(ComputePrecision.Bf16)
{
    static readonly CpuDevice Cpu = CpuDevice.Instance;

    // bf16 keeps 8 significant bits (relative rounding 2^-9): q, k, v, P and dO, dS are rounded before
    // their products, each product accumulated in fp32. Bounds relative to the tensor's largest value, about
    // 2.5x the worst seen on the emulator (o 6.0e-3, dq, dk, dv 1.3e-2, lse 9.7e-3 absolute); a missing mask
    // or a wrong tile bound shows as errors of tens of percent.
    const float ForwardTolerance = 1.5e-2f; // o
    const float BackwardTolerance = 3e-2f;  // dq, dk, dv: two rounded products deep
    const float LseTolerance = 2.5e-2f;     // absolute: lse is a log, so this is 2.5% of the softmax's normalizer
    const float ForwardSlack = 1e-4f;       // for an o that is near zero throughout
    // Absolute, for dq and dk: where dP - delta cancels in exact arithmetic (a row that sees one key has
    // dS = 0), the bf16-rounded dP (dO . v) still differs from the fp32 delta (dO . o) by ~1e-3 at these
    // O(1) inputs, as in every bf16 flash attention backward.
    const float BackwardSlack = 5e-3f;

    [SetUp]
    public void RequireMma()
    {
        if (Gpu.ComputeCapability.Major < 8) Assert.Ignore($"{Gpu.GpuName} predates bf16 mma (compute capability 8.0)");
    }

    static float[] Random(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = scale * (float)(rng.NextDouble() * 2 - 1);
        return values;
    }

    static void AssertNear(Tensor expected, Tensor actual, float rel, float abs, string what) =>
        FlashAttentionBf16Tests.AssertNear(expected.ToArray(), actual.ToArray(), rel, abs, what);

    static IEnumerable<TestCaseData> Cases()
    {
        // (batch, queries, keys, heads, kvHeads, headDim, queryOffset)
        var shapes = new (int B, int Tq, int Tk, int H, int Kv, int D, int Offset)[]
        {
            (2, 37, 37, 4, 2, 16, 0),   // GQA, odd length, the smallest instantiation padded from 16
            (1, 65, 65, 3, 1, 64, 0),   // MQA, one row past a 64-row tile
            (1, 130, 130, 2, 1, 32, 0), // three query tiles and three key blocks
            (2, 63, 63, 2, 2, 128, 0),  // the largest bf16 head dim
            (1, 17, 17, 4, 2, 80, 0),   // padded from 80 to 128
            (2, 5, 41, 4, 2, 64, 36),   // decoding five tokens against a KV cache
            (1, 1, 70, 2, 1, 32, 69),   // one token, the last of two key tiles
            (1, 17, 17, 2, 1, 160, 0),  // above 128: the fp32 kernels
        };
        foreach (var s in shapes)
            foreach (var kind in Enum.GetValues<MaskKind>())
                foreach (var prefix in kind switch
                {
                    MaskKind.Segments or MaskKind.SegmentsWindow => Enum.GetValues<PrefixVisibility>(),
                    MaskKind.PackedSegments => [PrefixVisibility.First],
                    _ => [PrefixVisibility.All],
                })
                    yield return new TestCaseData(s.B, s.Tq, s.Tk, s.H, s.Kv, s.D, s.Offset, kind, prefix);
    }

    [TestCaseSource(nameof(Cases))]
    public void AttentionForwardAndBackward(int batch, int tq, int tk, int heads, int kvHeads, int d, int offset, MaskKind kind, PrefixVisibility prefix)
    {
        bool bf16 = d <= CudaAttentionBf16.MaxHeadDim;
        Assert.That(Gpu.UsesBf16Attention(d, backward: false), Is.EqualTo(bf16), "forward kernel kind");
        Assert.That(Gpu.UsesBf16Attention(d, backward: true), Is.EqualTo(bf16 && CudaAttentionBf16.BackwardSharedBytes(CudaAttentionBf16.Bucket(d)) <= 160 * 1024),
            "backward kernel kind");
        // The fp32 fallback is held to the fp32 parity tests' bounds.
        float forwardTol = bf16 ? ForwardTolerance : 1e-5f, backwardTol = bf16 ? BackwardTolerance : 1e-4f;
        float forwardSlack = bf16 ? ForwardSlack : 0f, backwardSlack = bf16 ? BackwardSlack : 0f, lseTol = bf16 ? LseTolerance : 1e-5f;

        var shape = new AttentionShape(batch, tq, tk, heads, kvHeads, d, offset);
        var mask = MakeMask(kind, prefix, batch, tk, window: 7);
        float[] qv = Random(batch * tq * heads * d, 1, 2f), kv = Random(batch * tk * kvHeads * d, 2, 2f), vv = Random(batch * tk * kvHeads * d, 3);
        var (q, k, v) = (Cpu.Upload(qv, batch, tq, heads, d), Cpu.Upload(kv, batch, tk, kvHeads, d), Cpu.Upload(vv, batch, tk, kvHeads, d));
        var (gq, gk, gv) = (Gpu.Upload(qv, batch, tq, heads, d), Gpu.Upload(kv, batch, tk, kvHeads, d), Gpu.Upload(vv, batch, tk, kvHeads, d));
        var (o, go) = (Cpu.Zeros(batch, tq, heads, d), Gpu.Zeros(batch, tq, heads, d));
        var (lse, glse) = (Cpu.Zeros(batch, heads, tq), Gpu.Zeros(batch, heads, tq));
        Cpu.Attention(q, k, v, o, lse, shape, mask);
        Gpu.Attention(gq, gk, gv, go, glse, shape, mask);
        AssertNear(o, go, forwardTol, forwardSlack, "o");
        AssertNear(lse, glse, 0f, lseTol, "lse");

        var dOv = Random(batch * tq * heads * d, 4);
        var (dO, gdO) = (Cpu.Upload(dOv, batch, tq, heads, d), Gpu.Upload(dOv, batch, tq, heads, d));
        var (dq, gdq) = (Cpu.Zeros(batch, tq, heads, d), Gpu.Upload(Random(batch * tq * heads * d, 5), batch, tq, heads, d));
        var (dk, gdk) = (Cpu.Zeros(batch, tk, kvHeads, d), Gpu.Upload(Random(batch * tk * kvHeads * d, 6), batch, tk, kvHeads, d));
        var (dv, gdv) = (Cpu.Zeros(batch, tk, kvHeads, d), Gpu.Upload(Random(batch * tk * kvHeads * d, 7), batch, tk, kvHeads, d));
        // Both backwards from the CPU's o and lse, so only the backward kernels are compared.
        var (go2, glse2) = (Gpu.Upload(o.ToArray(), batch, tq, heads, d), Gpu.Upload(lse.ToArray(), batch, heads, tq));
        Cpu.AttentionBackward(dO, q, k, v, o, lse, dq, dk, dv, shape, mask);
        Gpu.AttentionBackward(gdO, gq, gk, gv, go2, glse2, gdq, gdk, gdv, shape, mask); // overwrites the garbage in dq, dk, dv
        AssertNear(dq, gdq, backwardTol, backwardSlack, "dq");
        AssertNear(dk, gdk, backwardTol, backwardSlack, "dk");
        AssertNear(dv, gdv, backwardTol, backwardSlack, "dv");
    }
}
