using ILGPU;
using ILGPU.Runtime;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Launches the fp32 attention kernels (FlashAttention.cs) on one accelerator: loads them once, picks the
/// head-dim bucket and the warps per group, sizes grids and dynamic shared memory, and uploads the mask's
/// segment and sequence ids into a reusable int buffer per call. The backward also keeps a reusable delta
/// scratch of B*H*Tq floats. Ran only on ILGPU's CPU accelerator so far.
/// </summary>
public sealed class IlgpuAttention : IDisposable
{
    public const int MaxHeadDim = 256;
    public const int MaxSharedBytes = 48 * 1024; // ILGPU's bindings cannot opt in to more

    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>,
        ArrayView<float>, ArrayView<float>, AttentionGeometry, KernelMask, SpecializedValue<int>> forwardKernel;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int> deltaKernel;
    readonly Action<AcceleratorStream, KernelConfig, AttentionBackwardInputs, ArrayView<float>, AttentionGeometry, KernelMask, SpecializedValue<int>> dqKernel;
    readonly Action<AcceleratorStream, KernelConfig, AttentionBackwardInputs, ArrayView<float>, ArrayView<float>, AttentionGeometry, KernelMask, SpecializedValue<int>> dkdvKernel;
    MemoryBuffer1D<int, Stride1D.Dense> ids;     // segment ids, then sequence ids
    MemoryBuffer1D<float, Stride1D.Dense> deltas; // delta_i = dO_i . O_i

    public IlgpuAttention(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        forwardKernel = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>,
            ArrayView<float>, ArrayView<float>, AttentionGeometry, KernelMask, SpecializedValue<int>>(FlashAttentionKernels.Forward);
        deltaKernel = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(FlashAttentionKernels.BackwardDelta);
        dqKernel = accelerator.LoadKernel<AttentionBackwardInputs, ArrayView<float>, AttentionGeometry, KernelMask, SpecializedValue<int>>(FlashAttentionKernels.BackwardDq);
        dkdvKernel = accelerator.LoadKernel<AttentionBackwardInputs, ArrayView<float>, ArrayView<float>, AttentionGeometry, KernelMask, SpecializedValue<int>>(FlashAttentionKernels.BackwardDkDv);
        ids = accelerator.Allocate1D<int>(1);
        deltas = accelerator.Allocate1D<float>(1);
    }

    /// <summary>The head-dim bucket the kernels are specialized for: 32, 64, 128 or 256.</summary>
    public static int Bucket(int d) => d switch
    {
        <= 32 => 32,
        <= 64 => 64,
        <= 128 => 128,
        <= MaxHeadDim => 256,
        _ => throw new NotSupportedException($"head dimension {d} exceeds the ILGPU attention kernels' {MaxHeadDim}"),
    };

    // Warps per group: 4, fewer at the 256 bucket so that the tiles fit 48 KiB (the banner's sums).
    public static int ForwardWarps(int d) => Bucket(d) <= 128 ? 4 : 2;
    public static int BackwardWarps(int d) => Bucket(d) <= 128 ? 4 : 1;

    // The banner's sums: dynamic floats (per-warp rows, one [32][d+1] tile), then static floats (p/dS tiles, lse,
    // delta) and ints (mask ids).
    public static int ForwardDynamicFloats(int d) => ForwardWarps(d) * FlashAttentionKernels.RowsPerWarp * d + FlashAttentionKernels.KeyTile * (d + 1);
    public static int DqDynamicFloats(int d) => 2 * BackwardWarps(d) * FlashAttentionKernels.RowsPerWarp * d + FlashAttentionKernels.KeyTile * (d + 1);
    public static int DkDvDynamicFloats(int d) => 2 * BackwardWarps(d) * FlashAttentionKernels.KeysPerWarp * d + FlashAttentionKernels.QueryTile * (d + 1);
    public static int ForwardSharedBytes(int d) =>
        sizeof(float) * (ForwardDynamicFloats(d) + FlashAttentionKernels.MaxRowsPerGroup * FlashAttentionKernels.KeyTile + 2 * FlashAttentionKernels.KeyTile);
    public static int DqSharedBytes(int d) =>
        sizeof(float) * (DqDynamicFloats(d) + FlashAttentionKernels.MaxRowsPerGroup * FlashAttentionKernels.KeyTile + 2 * FlashAttentionKernels.KeyTile);
    public static int DkDvSharedBytes(int d) => sizeof(float) * (DkDvDynamicFloats(d) + 2 * FlashAttentionKernels.MaxKeysPerGroup * FlashAttentionKernels.QueryTile
        + 4 * FlashAttentionKernels.QueryTile + 2 * FlashAttentionKernels.MaxKeysPerGroup);

    // q: [B,Tq,H,D], k, v: [B,Tk,KV,D] -> o: [B,Tq,H,D], lse: [B,H,Tq]
    public void Forward(AcceleratorStream stream, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> o, ArrayView<float> lse,
        AttentionShape shape, AttentionMask mask)
    {
        Check(shape, mask, q, k, v, o, lse);
        var (segments, sequences) = UploadIds(stream, mask);
        int d = shape.HeadDim, warps = ForwardWarps(d), rows = warps * FlashAttentionKernels.RowsPerWarp;
        forwardKernel(stream, Config(Cover(shape.QueryLength, rows), shape.Heads, shape.Batch, warps, ForwardDynamicFloats(d)),
            q, k, v, segments, sequences, o, lse, AttentionGeometry.From(shape), KernelMask.From(mask), new SpecializedValue<int>(Bucket(d)));
    }

    // dO: [B,Tq,H,D] -> dq: [B,Tq,H,D], dk, dv: [B,Tk,KV,D], all overwritten
    public void Backward(AcceleratorStream stream, ArrayView<float> dO, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> o,
        ArrayView<float> lse, ArrayView<float> dq, ArrayView<float> dk, ArrayView<float> dv, AttentionShape shape, AttentionMask mask)
    {
        Check(shape, mask, q, k, v, o, lse);
        Require(dO.Length == q.Length && dq.Length == q.Length && dk.Length == k.Length && dv.Length == v.Length,
            $"attention gradients dO {dO.Length}, dq {dq.Length}, dk {dk.Length}, dv {dv.Length} do not fit {shape}");
        var (segments, sequences) = UploadIds(stream, mask);
        var deltaView = Scratch(stream, ref deltas, lse.Length);
        int d = shape.HeadDim, rows = shape.Batch * shape.QueryLength * shape.Heads;
        int groupSize = FlashAttentionKernels.DeltaRowsPerGroup * 32;
        deltaKernel(stream, new KernelConfig(Cover(rows, FlashAttentionKernels.DeltaRowsPerGroup), groupSize), dO, o, deltaView, rows, shape.QueryLength, shape.Heads, d);

        var inputs = new AttentionBackwardInputs { DO = dO, Q = q, K = k, V = v, Lse = lse, Delta = deltaView, Segments = segments, Sequences = sequences };
        var geometry = AttentionGeometry.From(shape);
        var kernelMask = KernelMask.From(mask);
        var bucket = new SpecializedValue<int>(Bucket(d));
        int warps = BackwardWarps(d);
        dqKernel(stream, Config(Cover(shape.QueryLength, warps * FlashAttentionKernels.RowsPerWarp), shape.Heads, shape.Batch, warps, DqDynamicFloats(d)),
            inputs, dq, geometry, kernelMask, bucket);
        dkdvKernel(stream, Config(Cover(shape.KeyLength, warps * FlashAttentionKernels.KeysPerWarp), shape.KvHeads, shape.Batch, warps, DkDvDynamicFloats(d)),
            inputs, dk, dv, geometry, kernelMask, bucket);
    }

    public void Dispose()
    {
        ids.Dispose();
        deltas.Dispose();
    }

    static int Cover(int n, int per) => (n + per - 1) / per;

    static KernelConfig Config(int x, int y, int z, int warps, int dynamicFloats) =>
        new(new Index3D(x, y, z), new Index3D(warps * 32, 1, 1), SharedMemoryConfig.RequestDynamic<float>(dynamicFloats));

    // The mask's ids into the reusable buffer: segments at [0, n), sequences after them; empty views when absent.
    // One spare element: ILGPU asserts that even an empty view starts inside its buffer.
    (ArrayView<int> Segments, ArrayView<int> Sequences) UploadIds(AcceleratorStream stream, AttentionMask mask)
    {
        int segmentCount = mask.SegmentIds?.Length ?? 0, sequenceCount = mask.SequenceIds?.Length ?? 0;
        var all = Scratch(stream, ref ids, segmentCount + sequenceCount + 1);
        var segments = all.SubView(0, segmentCount);
        var sequences = all.SubView(segmentCount, sequenceCount);
        if (mask.SegmentIds is not null) segments.CopyFromCPU(stream, mask.SegmentIds);
        if (mask.SequenceIds is not null) sequences.CopyFromCPU(stream, mask.SequenceIds);
        return (segments, sequences);
    }

    // A view of n elements of a buffer that grows (never shrinks); the stream is drained before the old one is freed.
    ArrayView<T> Scratch<T>(AcceleratorStream stream, ref MemoryBuffer1D<T, Stride1D.Dense> buffer, long n) where T : unmanaged
    {
        if (buffer.Length < n)
        {
            stream.Synchronize();
            buffer.Dispose();
            buffer = accelerator.Allocate1D<T>(n);
        }
        return buffer.View.SubView(0, n);
    }

    static void Check(AttentionShape s, AttentionMask mask, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> o, ArrayView<float> lse)
    {
        DeviceChecks.Attention(s, mask, q.Length, k.Length, v.Length, o.Length, lse.Length,
            () => $"attention views q {q.Length}, k {k.Length}, v {v.Length}, o {o.Length}, lse {lse.Length}");
        Bucket(s.HeadDim);
    }

    static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }
}
