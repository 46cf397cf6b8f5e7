using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using static DrICL.Kernels.Ilgpu.FlashAttentionBf16Kernels;
using ForwardKernel = System.Action<ILGPU.Runtime.AcceleratorStream, ILGPU.KernelConfig, ILGPU.ArrayView<float>, ILGPU.ArrayView<float>,
    ILGPU.ArrayView<float>, ILGPU.ArrayView<int>, ILGPU.ArrayView<int>, ILGPU.ArrayView<float>, ILGPU.ArrayView<float>,
    DrICL.Kernels.Ilgpu.AttentionGeometry, DrICL.Kernels.Ilgpu.KernelMask>;
using BackwardKernel = System.Action<ILGPU.Runtime.AcceleratorStream, ILGPU.KernelConfig, ILGPU.ArrayView<float>, ILGPU.ArrayView<float>,
    ILGPU.ArrayView<float>, ILGPU.ArrayView<float>, ILGPU.ArrayView<float>, ILGPU.ArrayView<float>, ILGPU.ArrayView<int>, ILGPU.ArrayView<int>,
    ILGPU.ArrayView<float>, ILGPU.ArrayView<float>, ILGPU.ArrayView<float>, DrICL.Kernels.Ilgpu.AttentionGeometry, DrICL.Kernels.Ilgpu.KernelMask>;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Launches the bf16 tensor-core attention kernels (FlashAttentionBf16.cs) on an ILGPU accelerator: head dims
/// up to 128, on CUDA compute capability 8.0+ (mma.sync with bf16 needs sm_80), or on ILGPU's CPU accelerator,
/// where Mma.cs's portable twin stands in for the tensor core. Owns the kernels (loaded once), the launch
/// geometry and reusable device buffers for the mask ids and the backward's delta.
/// </summary>
public sealed class IlgpuAttentionBf16 : IDisposable
{
    public const int MaxHeadDim = 128;
    static readonly CudaArchitecture MinArchitecture = CudaArchitecture.SM_80; // the first with mma.sync on bf16

    readonly Accelerator accelerator;
    readonly ForwardKernel forward32, forward64, forward128;
    readonly BackwardKernel backward32, backward64, backward128;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int> delta;
    MemoryBuffer1D<int, Stride1D.Dense> ids;      // segment ids, then sequence ids: [B,Tk] each
    MemoryBuffer1D<float, Stride1D.Dense> deltas; // [B,H,Tq]

    public IlgpuAttentionBf16(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        forward32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>,
            AttentionGeometry, KernelMask>(Forward<HeadDim32>);
        forward64 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>,
            AttentionGeometry, KernelMask>(Forward<HeadDim64>);
        forward128 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>,
            AttentionGeometry, KernelMask>(Forward<HeadDim128>);
        backward32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionGeometry, KernelMask>(Backward<HeadDim32>);
        backward64 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionGeometry, KernelMask>(Backward<HeadDim64>);
        backward128 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionGeometry, KernelMask>(Backward<HeadDim128>);
        delta = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(FlashAttentionKernels.BackwardDelta);
        ids = accelerator.Allocate1D<int>(1);
        deltas = accelerator.Allocate1D<float>(1);
    }

    /// <summary>The padded head dimension a kernel is compiled for: 32, 64 or 128.</summary>
    public static int Bucket(int d) => d switch
    {
        <= 32 => 32,
        <= 64 => 64,
        <= MaxHeadDim => 128,
        _ => throw new NotSupportedException($"head dimension {d} exceeds the bf16 attention kernels' {MaxHeadDim}"),
    };

    // FlashAttentionBf16.cs's banner sums, in 4-byte words: tiles of (DP + 8) / 2 words per row, then floats and ints.
    public static int ForwardSharedBytes(int dp) => 4 * (2 * KeyTile * Bf16Tiles.Stride(dp) + 2 * KeyTile);
    public static int BackwardSharedBytes(int dp) =>
        4 * (2 * KeyTile * Bf16Tiles.Stride(dp) + 2 * BackwardQueryRows * Bf16Tiles.Stride(dp) + KeyTile * Bf16Tiles.Stride(BackwardQueryRows)
            + 2 * BackwardQueryRows + 2 * BackwardQueryRows + 2 * KeyTile);

    /// <summary>Head dim up to 128; on CUDA, compute capability 8.0+ and the backward's shared memory per group.</summary>
    public bool Supports(AttentionShape shape) =>
        shape.HeadDim <= MaxHeadDim && (accelerator is not CudaAccelerator cuda
            || (cuda.Architecture >= MinArchitecture && accelerator.MaxSharedMemoryPerGroup >= BackwardSharedBytes(Bucket(shape.HeadDim))));

    // q: [B,Tq,H,D], k, v: [B,Tk,KV,D] -> o: [B,Tq,H,D], lse: [B,H,Tq]
    public void Forward(AcceleratorStream stream, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> o, ArrayView<float> lse,
        AttentionShape shape, AttentionMask mask)
    {
        Check(shape);
        var (segments, sequences) = StageIds(stream, shape, mask);
        var config = new KernelConfig(new Index3D((shape.QueryLength + QueryRows - 1) / QueryRows, shape.Heads, shape.Batch), new Index3D(Threads, 1, 1));
        var kernel = Bucket(shape.HeadDim) switch { 32 => forward32, 64 => forward64, _ => forward128 };
        kernel(stream, config, q, k, v, segments, sequences, o, lse, AttentionGeometry.From(shape), KernelMask.From(mask));
    }

    // dO: [B,Tq,H,D] -> dq: [B,Tq,H,D], dk, dv: [B,Tk,KV,D], all overwritten, as CpuDevice.AttentionBackward
    public void Backward(AcceleratorStream stream, ArrayView<float> dO, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> o,
        ArrayView<float> lse, ArrayView<float> dq, ArrayView<float> dk, ArrayView<float> dv, AttentionShape shape, AttentionMask mask)
    {
        Check(shape);
        var (segments, sequences) = StageIds(stream, shape, mask);
        int rows = shape.Batch * shape.QueryLength * shape.Heads;
        deltas = Reserve(deltas, rows);
        var deltaView = deltas.View.SubView(0, rows);
        delta(stream, new KernelConfig((rows + FlashAttentionKernels.DeltaRowsPerGroup - 1) / FlashAttentionKernels.DeltaRowsPerGroup, FlashAttentionKernels.DeltaRowsPerGroup * 32), dO, o, deltaView, rows, shape.QueryLength, shape.Heads, shape.HeadDim);
        dq.MemSetToZero(stream); // the kernel adds every key group's dQ with atomics
        var config = new KernelConfig(new Index3D((shape.KeyLength + KeyTile - 1) / KeyTile, shape.KvHeads, shape.Batch), new Index3D(Threads, 1, 1));
        var kernel = Bucket(shape.HeadDim) switch { 32 => backward32, 64 => backward64, _ => backward128 };
        kernel(stream, config, dO, q, k, v, lse, deltaView, segments, sequences, dq, dk, dv, AttentionGeometry.From(shape), KernelMask.From(mask));
    }

    void Check(AttentionShape shape)
    {
        shape.Validate();
        if (!Supports(shape))
            throw new NotSupportedException($"bf16 attention does not support head dimension {shape.HeadDim} on {accelerator.Name}");
    }

    // The mask's id arrays ([B,Tk] each) on the device; views the kernels never read when the mask has none.
    (ArrayView<int> Segments, ArrayView<int> Sequences) StageIds(AcceleratorStream stream, AttentionShape shape, AttentionMask mask)
    {
        int n = shape.Batch * shape.KeyLength;
        ids = Reserve(ids, 2 * n);
        var segments = ids.View.SubView(0, n);
        var sequences = ids.View.SubView(n, n);
        if (mask.SegmentIds is { } seg) Upload(stream, segments, seg, n, "segment");
        if (mask.SequenceIds is { } seq) Upload(stream, sequences, seq, n, "sequence");
        return (segments, sequences);
    }

    static void Upload(AcceleratorStream stream, ArrayView<int> view, int[] values, int n, string what)
    {
        if (values.Length != n) throw new ArgumentException($"the mask's {what} ids hold {values.Length} values, not B*Tk = {n}");
        view.CopyFromCPU(stream, ref values[0], n);
        stream.Synchronize(); // the array may change once we return
    }

    MemoryBuffer1D<T, Stride1D.Dense> Reserve<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, int length) where T : unmanaged
    {
        if (buffer.Length >= length) return buffer;
        buffer.Dispose();
        return accelerator.Allocate1D<T>(length);
    }

    public void Dispose()
    {
        ids.Dispose();
        deltas.Dispose();
    }
}
