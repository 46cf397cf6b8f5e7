using DrICL.Kernels;
using DrICL.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using NUnit.Framework;
using CpuAttention = DrICL.Kernels.Cpu.FlashAttention;
using MaskKind = DrICL.Tests.Kernels.FlashAttentionTests.MaskKind;
using Reference = DrICL.Tests.Kernels.FlashAttentionTests;

namespace DrICL.Tests.Ilgpu;

/// <summary>
/// The ILGPU fp32 attention kernels (IlgpuAttention) against the CPU reference: o, lse, dq, dk, dv for every
/// mask kind, MHA/GQA/MQA, KV-cache offsets, odd lengths and head dims 16/64/128/160 (buckets 32..256).
/// On CUDA when a driver and GPU are present, else on ILGPU's CPU accelerator, where every simulated thread
/// is an OS thread: shapes stay small, and each case covers several features at once.
/// </summary>
[TestFixture, Category("Gpu"), NonParallelizable]
public class FlashAttentionTests
{
    Context? context;
    Accelerator? accelerator;
    IlgpuAttention? attention;

    [OneTimeSetUp]
    public void Open()
    {
        context = Context.Create(b => b.Cuda().CPU(CPUDeviceKind.Nvidia).Optimize(OptimizationLevel.O2).EnableAlgorithms());
        Device device = context.GetCudaDevices().Count > 0 ? context.GetCudaDevice(0) : context.GetCPUDevice(0);
        accelerator = device.CreateAccelerator(context);
        attention = new IlgpuAttention(accelerator);
        TestContext.Progress.WriteLine($"ILGPU attention on {accelerator.Name} ({accelerator.AcceleratorType})");
    }

    [OneTimeTearDown]
    public void Close()
    {
        attention?.Dispose();
        accelerator?.Dispose();
        context?.Dispose();
    }

    // (B, Tq, Tk, H, KV, D, offset, mask): every mask kind, lengths 1/7/65/130, MHA, GQA (6/2, 4/2) and MQA (4/1, 2/1).
    static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData Case(int batch, int tq, int tk, int heads, int kv, int d, int offset, MaskKind kind) =>
            new TestCaseData(batch, tq, tk, heads, kv, d, offset, kind)
                .SetName($"B{batch} Tq{tq} Tk{tk} at {offset} H{heads}/{kv} D{d} {kind}");
        yield return Case(2, 7, 7, 4, 4, 16, 0, MaskKind.Causal);
        yield return Case(1, 1, 1, 2, 1, 128, 0, MaskKind.Causal);
        yield return Case(1, 7, 7, 6, 2, 128, 0, MaskKind.PrefixNone);
        yield return Case(1, 65, 65, 2, 1, 64, 0, MaskKind.PrefixAll);
        yield return Case(1, 65, 65, 4, 2, 16, 0, MaskKind.PrefixFirst);
        yield return Case(1, 65, 65, 2, 1, 160, 0, MaskKind.Window5);
        yield return Case(1, 130, 130, 1, 1, 16, 0, MaskKind.Window1);
        yield return Case(1, 65, 65, 2, 2, 16, 0, MaskKind.Packed);
        yield return Case(2, 33, 33, 2, 1, 16, 0, MaskKind.PackedWindow5);
        // KV cache: queries at the cache's end, and in its middle (later keys exist but are hidden)
        yield return Case(1, 1, 130, 2, 1, 16, 129, MaskKind.Causal);
        yield return Case(1, 7, 65, 6, 2, 64, 58, MaskKind.Window12);
        yield return Case(1, 33, 65, 4, 2, 16, 20, MaskKind.PrefixFirst);
        yield return Case(1, 7, 65, 2, 1, 160, 30, MaskKind.PrefixNone);
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(int batch, int tq, int tk, int heads, int kv, int d, int offset, MaskKind kind)
    {
        var shape = new AttentionShape(batch, tq, tk, heads, kv, d, offset);
        var mask = Reference.MakeMask(kind, batch, tk, seed: tq * 31 + d + offset);
        var (q, k, v, dO) = Reference.Inputs(shape, seed: tq + 7 * d + offset);
        int stats = batch * heads * tq;
        var (oRef, lseRef) = (new float[q.Length], new float[stats]);
        CpuAttention.ForwardReference(q, k, v, oRef, lseRef, shape, mask);
        var (dqRef, dkRef, dvRef) = (new float[q.Length], new float[k.Length], new float[v.Length]);
        CpuAttention.BackwardReference(dO, q, k, v, oRef, lseRef, dqRef, dkRef, dvRef, shape, mask);

        var gpu = accelerator!;
        using var qBuf = gpu.Allocate1D(q);
        using var kBuf = gpu.Allocate1D(k);
        using var vBuf = gpu.Allocate1D(v);
        using var doBuf = gpu.Allocate1D(dO);
        // Stale values in the outputs must not leak through: every kernel overwrites.
        using var oBuf = gpu.Allocate1D(Enumerable.Repeat(float.NaN, q.Length).ToArray());
        using var lseBuf = gpu.Allocate1D(Enumerable.Repeat(float.NaN, stats).ToArray());
        using var dqBuf = gpu.Allocate1D(Enumerable.Repeat(float.NaN, q.Length).ToArray());
        using var dkBuf = gpu.Allocate1D(Enumerable.Repeat(float.NaN, k.Length).ToArray());
        using var dvBuf = gpu.Allocate1D(Enumerable.Repeat(float.NaN, v.Length).ToArray());
        var stream = gpu.DefaultStream;
        attention!.Forward(stream, qBuf.View, kBuf.View, vBuf.View, oBuf.View, lseBuf.View, shape, mask);
        attention.Backward(stream, doBuf.View, qBuf.View, kBuf.View, vBuf.View, oBuf.View, lseBuf.View, dqBuf.View, dkBuf.View, dvBuf.View, shape, mask);
        stream.Synchronize();

        // fp32 sums in another order than the reference's doubles, and float exp
        const double tolerance = 1e-4;
        Reference.AssertClose(oRef, oBuf.GetAsArray1D(), "o", tolerance);
        Reference.AssertClose(lseRef, lseBuf.GetAsArray1D(), "lse", tolerance);
        Reference.AssertClose(dqRef, dqBuf.GetAsArray1D(), "dq", tolerance);
        Reference.AssertClose(dkRef, dkBuf.GetAsArray1D(), "dk", tolerance);
        Reference.AssertClose(dvRef, dvBuf.GetAsArray1D(), "dv", tolerance);
    }

    [Test]
    public void RejectsViewsAndMasksThatDoNotFitTheShape()
    {
        var shape = new AttentionShape(1, 4, 4, 2, 1, 8);
        var gpu = accelerator!;
        using var q = gpu.Allocate1D<float>(1 * 4 * 2 * 8);
        using var kv = gpu.Allocate1D<float>(1 * 4 * 1 * 8);
        using var lse = gpu.Allocate1D<float>(1 * 2 * 4);
        var stream = gpu.DefaultStream;
        Assert.That(() => attention!.Forward(stream, q.View, kv.View, kv.View, q.View, lse.View, shape with { Heads = 4 }, AttentionMask.Causal),
            Throws.ArgumentException.With.Message.Contains("do not fit"));
        Assert.That(() => attention!.Forward(stream, q.View, kv.View, kv.View, q.View, lse.View, shape, new AttentionMask(SegmentIds: new int[3])),
            Throws.ArgumentException.With.Message.Contains("3 segment ids for 1x4 keys"));
        Assert.That(() => attention!.Backward(stream, kv.View, q.View, kv.View, kv.View, q.View, lse.View, q.View, kv.View, kv.View, shape, AttentionMask.Causal),
            Throws.ArgumentException.With.Message.Contains("gradients"));
    }

    [Test]
    public void TilesFitSharedMemoryAtEveryHeadDim()
    {
        for (int d = 1; d <= IlgpuAttention.MaxHeadDim; d++)
        {
            Assert.That(IlgpuAttention.ForwardSharedBytes(d), Is.LessThanOrEqualTo(IlgpuAttention.MaxSharedBytes), $"forward at D={d}");
            Assert.That(IlgpuAttention.DqSharedBytes(d), Is.LessThanOrEqualTo(IlgpuAttention.MaxSharedBytes), $"dq at D={d}");
            Assert.That(IlgpuAttention.DkDvSharedBytes(d), Is.LessThanOrEqualTo(IlgpuAttention.MaxSharedBytes), $"dk/dv at D={d}");
        }
        Assert.That(() => IlgpuAttention.Bucket(IlgpuAttention.MaxHeadDim + 1), Throws.TypeOf<NotSupportedException>());
    }
}
