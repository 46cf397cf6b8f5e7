using System.Runtime.InteropServices;
using DrICL.Kernels.Ilgpu;
using static DrICL.Kernels.DeviceChecks;

namespace DrICL.Kernels.Cuda;

/// <summary>
/// The engine on an NVIDIA GPU: tensors in device memory, ops as the CUDA C kernels in Kernels/ (compiled
/// by NVRTC at first use) and matrix multiplies on cuBLAS. Everything is queued on one stream, in order;
/// only Download and SumOfSquares wait for it. Integer inputs (ids, labels, positions, segment and sequence
/// ids) are copied per call into one reusable device buffer, which stream order makes safe to reuse; for
/// the same reason tensor memory comes from a caching allocator that recycles blocks without waiting.
/// Semantics are those of CpuDevice's reference kernels, up to float rounding and summation order.
/// Not thread-safe: one thread drives a device at a time. Written without a GPU at hand: compile-checked
/// with NVRTC, but CudaParityTests have yet to run on real hardware (see README.md).
/// </summary>
public sealed unsafe class CudaDevice : IDevice
{
    const int Threads = 256;

    readonly int ordinal;
    readonly nint context;
    readonly nint stream;
    readonly CudaAllocator allocator;
    readonly Cublas cublas;
    readonly CudaModules modules;
    readonly CudaMemory sumScratch;
    CudaMemory? intScratch;
    CudaMemory? floatScratch;
    bool disposed;

    [ThreadStatic] static nint currentContext;

    public string Name => $"cuda:{ordinal}";
    /// <summary>The GPU's product name, e.g. NVIDIA H100 80GB HBM3.</summary>
    public string GpuName { get; }
    public (int Major, int Minor) ComputeCapability { get; }
    /// <summary>The virtual architecture the kernels were compiled for, e.g. compute_90.</summary>
    public string Architecture => modules.Architecture;
    public int DriverVersion { get; }
    public ComputePrecision Precision { get; }

    CudaDevice(int ordinal, ComputePrecision precision, string? cacheDirectory)
    {
        this.ordinal = ordinal;
        Precision = precision;
        CudaDriver.Check(CudaDriver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
        if (ordinal < 0 || ordinal >= count) throw new ArgumentOutOfRangeException(nameof(ordinal), $"no CUDA device {ordinal}: this machine has {count}");
        CudaDriver.Check(CudaDriver.cuDeviceGet(out int device, ordinal), "cuDeviceGet");
        CudaDriver.Check(CudaDriver.cuDriverGetVersion(out int driverVersion), "cuDriverGetVersion");
        DriverVersion = driverVersion;
        var name = stackalloc byte[256];
        CudaDriver.Check(CudaDriver.cuDeviceGetName(name, 256, device), "cuDeviceGetName");
        GpuName = Marshal.PtrToStringUTF8((nint)name) ?? "";
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int major, CudaDriver.ComputeCapabilityMajor, device), "cuDeviceGetAttribute");
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int minor, CudaDriver.ComputeCapabilityMinor, device), "cuDeviceGetAttribute");
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int maxShared, CudaDriver.MaxSharedMemoryPerBlockOptin, device), "cuDeviceGetAttribute");
        ComputeCapability = (major, minor);
        // The kernels use double-precision atomicAdd, which needs compute capability 6.0.
        if (major < 6) throw new NotSupportedException($"{GpuName} has compute capability {major}.{minor}; the CUDA backend needs 6.0 or newer");

        CudaDriver.Check(CudaDriver.cuDevicePrimaryCtxRetain(out context, device), "cuDevicePrimaryCtxRetain");
        try
        {
            Enter();
            CudaDriver.Check(CudaDriver.cuStreamCreate(out stream, CudaDriver.StreamNonBlocking), "cuStreamCreate");
            allocator = new CudaAllocator(stream);
            var nvrtc = Nvrtc.Shared;
            var compiler = new NvrtcCompiler(nvrtc, cacheDirectory);
            modules = new CudaModules(compiler, NvrtcCompiler.ArchitectureFor(major, minor, nvrtc.SupportedArchitectures), maxShared);
            cublas = new Cublas(stream);
            sumScratch = allocator.Allocate(sizeof(double));
        }
        catch
        {
            if (stream != 0) CudaDriver.cuStreamDestroy(stream);
            CudaDriver.cuDevicePrimaryCtxRelease(device);
            currentContext = 0;
            throw;
        }
    }

    /// <summary>
    /// Opens GPU `ordinal`. Throws DllNotFoundException when there is no driver (libcuda.so.1), NVRTC or
    /// cuBLAS, and CudaException when the driver finds no usable device (CUDA_ERROR_NO_DEVICE...).
    /// PTX is cached under cacheDirectory (default: NvrtcCompiler.DefaultCacheDirectory).
    /// </summary>
    public static CudaDevice Open(int ordinal, ComputePrecision precision, string? cacheDirectory = null)
    {
        try
        {
            CudaDriver.Check(CudaDriver.cuInit(0), "cuInit");
        }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException("CUDA driver (libcuda.so.1) not found: this machine has no NVIDIA driver", e);
        }
        return new CudaDevice(ordinal, precision, cacheDirectory ?? NvrtcCompiler.DefaultCacheDirectory(Environment.GetEnvironmentVariable));
    }

    public override string ToString() => $"{Name} ({GpuName}, compute capability {ComputeCapability.Major}.{ComputeCapability.Minor}, kernels for {Architecture}, {Precision} compute)";

    // ---- storage

    public Tensor Zeros(params int[] shape)
    {
        var t = Allocate(shape);
        Fill(t, 0f);
        return t;
    }

    public Tensor Upload(ReadOnlySpan<float> host, params int[] shape)
    {
        var t = Allocate(shape);
        if (host.Length != t.Length) throw new ArgumentException($"{host.Length} values do not fill shape {Tensor.Format(shape)}");
        if (t.Length == 0) return t;
        fixed (float* p = host)
            CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(t.DevicePointer, p, Bytes(t.Length), stream), "cuMemcpyHtoDAsync_v2");
        return t;
    }

    public void Download(Tensor t, Span<float> host)
    {
        Enter();
        if (host.Length < t.Length) throw new ArgumentException($"{host.Length} floats cannot hold {t}");
        if (t.Length == 0) return;
        fixed (float* p = host)
            CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync(p, Ptr(t), Bytes(t.Length), stream), "cuMemcpyDtoHAsync_v2");
        Synchronize();
    }

    public void Fill(Tensor t, float value)
    {
        Enter();
        if (t.Length == 0) return;
        CudaDriver.Check(CudaDriver.cuMemsetD32Async(Ptr(t), BitConverter.SingleToUInt32Bits(value), (nuint)t.Length, stream), "cuMemsetD32Async");
    }

    public void Copy(Tensor src, Tensor dst)
    {
        Enter();
        SameLength(src, dst);
        CopyDeviceToDevice(Ptr(src), Ptr(dst), src.Length);
    }

    public void CopyRows(Tensor src, Tensor dst, int dstRow)
    {
        Enter();
        if (src.Columns != dst.Columns || dstRow < 0 || dstRow + src.Rows > dst.Rows)
            throw new ArgumentException($"cannot copy {src} into {dst} at row {dstRow}");
        CopyDeviceToDevice(Ptr(src), Ptr(dst) + (nint)dstRow * dst.Columns * sizeof(float), src.Length);
    }

    // ---- elementwise

    public void Add(Tensor a, Tensor b, Tensor y)
    {
        Enter();
        SameLength(a, b); SameLength(a, y);
        Kernel("elementwise.cu", "elementwise_add").Launch(stream, Grid.Cover(a.Length, Threads), Threads, 0, Ptr(a), Ptr(b), Ptr(y), a.Length);
    }

    public void Accumulate(Tensor dst, Tensor src)
    {
        Enter();
        SameLength(dst, src);
        Kernel("elementwise.cu", "elementwise_accumulate").Launch(stream, Grid.Cover(dst.Length, Threads), Threads, 0, Ptr(dst), Ptr(src), dst.Length);
    }

    public void Scale(Tensor t, float factor)
    {
        Enter();
        Kernel("elementwise.cu", "elementwise_scale").Launch(stream, Grid.Cover(t.Length, Threads), Threads, 0, Ptr(t), factor, t.Length);
    }

    // ---- matrix multiply

    public void MatMul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, bool accumulate)
    {
        Enter();
        int m = transA ? a.Columns : a.Rows, k = transA ? a.Rows : a.Columns;
        int kb = transB ? b.Columns : b.Rows, n = transB ? b.Rows : b.Columns;
        if (k != kb || c.Rows != m || c.Columns != n)
            throw new ArgumentException($"matmul shapes do not fit: {a}{(transA ? "ᵀ" : "")} @ {b}{(transB ? "ᵀ" : "")} -> {c}");
        cublas.Gemm(Ptr(a), Ptr(b), Ptr(c), m, n, k, transA, transB, accumulate, Precision);
    }

    // ---- model ops

    public void Embedding(Tensor table, int[] ids, Tensor y)
    {
        Enter();
        foreach (var id in ids) Cpu.Embedding.CheckId(id, table.Rows);
        Require(y.Length == (long)ids.Length * table.Columns, $"embedding of {ids.Length} ids from {table} does not fit {y}");
        var idsOnDevice = UploadInts(ids);
        Kernel("embedding.cu", "embedding_forward").Launch(stream, new Grid(ids.Length), Threads, 0, Ptr(table), idsOnDevice, Ptr(y), table.Columns);
    }

    public void EmbeddingBackward(Tensor dy, int[] ids, Tensor dtable)
    {
        Enter();
        foreach (var id in ids) Cpu.Embedding.CheckId(id, dtable.Rows);
        Require(dy.Length == (long)ids.Length * dtable.Columns, $"embedding gradient {dy} does not fit {ids.Length} ids of {dtable}");
        var idsOnDevice = UploadInts(ids);
        Kernel("embedding.cu", "embedding_backward").Launch(stream, new Grid(ids.Length), Threads, 0, Ptr(dy), idsOnDevice, Ptr(dtable), dtable.Columns);
    }

    public void RmsNorm(Tensor x, Tensor w, Tensor y, Tensor rstd, float eps)
    {
        Enter();
        Require(w.Length == x.Columns && y.Length == x.Length && rstd.Length == x.Rows, $"rmsnorm shapes do not fit: x {x}, w {w}, y {y}, rstd {rstd}");
        Kernel("rmsnorm.cu", "rmsnorm_forward").Launch(stream, new Grid(x.Rows), Threads, 0, Ptr(x), Ptr(w), Ptr(y), Ptr(rstd), x.Columns, eps);
    }

    public void RmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, Tensor dw)
    {
        Enter();
        Require(w.Length == x.Columns && dw.Length == x.Columns && dy.Length == x.Length && dx.Length == x.Length && rstd.Length == x.Rows,
            $"rmsnorm backward shapes do not fit: dy {dy}, x {x}, w {w}, rstd {rstd}, dx {dx}, dw {dw}");
        Kernel("rmsnorm.cu", "rmsnorm_backward_dx").Launch(stream, new Grid(x.Rows), Threads, 0, Ptr(dy), Ptr(x), Ptr(w), Ptr(rstd), Ptr(dx), x.Columns);
        Kernel("rmsnorm.cu", "rmsnorm_backward_dw").Launch(stream, Grid.Cover(x.Columns, 32), Threads, 0, Ptr(dy), Ptr(x), Ptr(rstd), Ptr(dw), x.Rows, x.Columns);
    }

    public void Rope(Tensor x, int[] positions, int batch, int seq, int heads, int headDim, RopeFrequencies frequencies, bool inverse)
    {
        Enter();
        Require(positions.Length == batch * seq && x.Length == (long)batch * seq * heads * headDim && frequencies.HeadDim == headDim,
            $"rope of {batch}x{seq} tokens, {heads} heads of {headDim} does not fit {x} with {positions.Length} positions and {frequencies}");
        var positionsOnDevice = UploadInts(positions);
        var inverseOnDevice = UploadFloats(frequencies.Inverse);
        long pairs = (long)batch * seq * heads * (headDim / 2);
        Kernel("rope.cu", "rope").Launch(stream, Grid.Cover(pairs, Threads), Threads, 0,
            Ptr(x), positionsOnDevice, inverseOnDevice, batch * seq, heads, headDim, inverse ? 1 : 0);
    }

    public void SwiGlu(Tensor gate, Tensor up, Tensor h)
    {
        Enter();
        SameLength(gate, up); SameLength(gate, h);
        Kernel("swiglu.cu", "swiglu_forward").Launch(stream, Grid.Cover(h.Length, Threads), Threads, 0, Ptr(gate), Ptr(up), Ptr(h), h.Length);
    }

    public void SwiGluBackward(Tensor dh, Tensor gate, Tensor up, Tensor dgate, Tensor dup)
    {
        Enter();
        SameLength(dh, gate); SameLength(dh, up); SameLength(dh, dgate); SameLength(dh, dup);
        Kernel("swiglu.cu", "swiglu_backward").Launch(stream, Grid.Cover(dh.Length, Threads), Threads, 0,
            Ptr(dh), Ptr(gate), Ptr(up), Ptr(dgate), Ptr(dup), dh.Length);
    }

    public void Attention(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, AttentionShape shape, AttentionMask mask)
    {
        Enter();
        DeviceChecks.Attention(shape, mask, q, k, v, o, lse);
        var (segments, sequences) = UploadInts(mask.SegmentIds, mask.SequenceIds);
        if (UsesBf16Attention(shape.HeadDim, backward: false))
            CudaAttentionBf16.Forward(modules, stream, Ptr(q), Ptr(k), Ptr(v), segments, sequences, Ptr(o), Ptr(lse), shape, mask);
        else
            CudaAttention.Forward(modules, stream, Ptr(q), Ptr(k), Ptr(v), segments, sequences, Ptr(o), Ptr(lse), shape, mask);
    }

    public void AttentionBackward(Tensor dO, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dq, Tensor dk, Tensor dv, AttentionShape shape, AttentionMask mask)
    {
        Enter();
        DeviceChecks.Attention(shape, mask, q, k, v, o, lse);
        SameLength(dO, q); SameLength(dq, q); SameLength(dk, k); SameLength(dv, v);
        var (segments, sequences) = UploadInts(mask.SegmentIds, mask.SequenceIds);
        nint delta = FloatScratch(lse.Length); // delta_i = dO_i . O_i, one per lse entry
        if (UsesBf16Attention(shape.HeadDim, backward: true))
            CudaAttentionBf16.Backward(modules, stream, Ptr(dO), Ptr(q), Ptr(k), Ptr(v), Ptr(o), Ptr(lse), segments, sequences, delta, Ptr(dq), Ptr(dk), Ptr(dv), shape, mask);
        else
            CudaAttention.Backward(modules, stream, Ptr(dO), Ptr(q), Ptr(k), Ptr(v), Ptr(o), Ptr(lse), segments, sequences, delta, Ptr(dq), Ptr(dk), Ptr(dv), shape, mask);
    }

    /// <summary>
    /// Whether attention runs on the bf16 tensor-core kernels: in Bf16 precision, for head dims up to 128,
    /// when the kernels are compiled for compute_80 or newer and the block's shared memory fits this GPU
    /// (the backward at head dim 128 needs ~133 KiB: A100 and H100, not the 99 KiB of sm_86/sm_89).
    /// Otherwise the fp32 kernels, whose lse means the same, so a forward and backward may differ in kind.
    /// </summary>
    internal bool UsesBf16Attention(int headDim, bool backward) =>
        Precision == ComputePrecision.Bf16 && headDim <= CudaAttentionBf16.MaxHeadDim && CudaAttentionBf16.Supports(Architecture)
        && (backward ? CudaAttentionBf16.BackwardSharedBytes(CudaAttentionBf16.Bucket(headDim)) : CudaAttentionBf16.ForwardSharedBytes(CudaAttentionBf16.Bucket(headDim)))
            <= modules.MaxSharedBytes;

    public void CrossEntropy(Tensor logits, int[] labels, Tensor nll, Tensor lse)
    {
        Enter();
        DeviceChecks.Labels(logits, labels);
        Require(nll.Length == logits.Rows && lse.Length == logits.Rows, $"cross-entropy outputs {nll}, {lse} do not fit {logits}");
        var labelsOnDevice = UploadInts(labels);
        Kernel("cross_entropy.cu", "cross_entropy_forward").Launch(stream, new Grid(logits.Rows), Threads, 0,
            Ptr(logits), labelsOnDevice, Ptr(nll), Ptr(lse), logits.Columns);
    }

    public void CrossEntropyBackward(Tensor logits, int[] labels, Tensor lse, Tensor weights, Tensor dlogits)
    {
        Enter();
        DeviceChecks.Labels(logits, labels);
        Require(lse.Length == logits.Rows && weights.Length == logits.Rows && dlogits.Length == logits.Length,
            $"cross-entropy backward shapes do not fit: logits {logits}, lse {lse}, weights {weights}, dlogits {dlogits}");
        var labelsOnDevice = UploadInts(labels);
        Kernel("cross_entropy.cu", "cross_entropy_backward").Launch(stream, new Grid(logits.Rows), Threads, 0,
            Ptr(logits), labelsOnDevice, Ptr(lse), Ptr(weights), Ptr(dlogits), logits.Columns);
    }

    // ---- optimizer

    public double SumOfSquares(Tensor t)
    {
        Enter();
        CudaDriver.Check(CudaDriver.cuMemsetD32Async(sumScratch.Pointer, 0, 2, stream), "cuMemsetD32Async");
        // Enough blocks to fill any GPU; the grid-stride loop covers the rest.
        var grid = new Grid((int)Math.Min(Grid.Cover(t.Length, Threads).X, 1024));
        Kernel("sum_of_squares.cu", "sum_of_squares").Launch(stream, grid, Threads, 0, Ptr(t), t.Length, sumScratch.Pointer);
        double result;
        CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync(&result, sumScratch.Pointer, sizeof(double), stream), "cuMemcpyDtoHAsync_v2");
        Synchronize();
        return result;
    }

    public void AdamW(Tensor p, Tensor g, Tensor m, Tensor v, AdamWConfig config, int step, float gradScale)
    {
        Enter();
        SameLength(p, g); SameLength(p, m); SameLength(p, v);
        float bc1 = 1f - MathF.Pow(config.Beta1, step), bc2 = 1f - MathF.Pow(config.Beta2, step);
        Kernel("adamw.cu", "adamw").Launch(stream, Grid.Cover(p.Length, Threads), Threads, 0, Ptr(p), Ptr(g), Ptr(m), Ptr(v), p.Length,
            config.Lr, config.Beta1, config.Beta2, config.Eps, config.WeightDecay, bc1, bc2, gradScale);
    }

    // ---- timing

    /// <summary>GPU time of the work `body` queues, measured with events on the stream (for benchmarks).</summary>
    public float TimeMilliseconds(Action body)
    {
        Enter();
        CudaDriver.Check(CudaDriver.cuEventCreate(out var start, 0), "cuEventCreate");
        CudaDriver.Check(CudaDriver.cuEventCreate(out var end, 0), "cuEventCreate");
        try
        {
            CudaDriver.Check(CudaDriver.cuEventRecord(start, stream), "cuEventRecord");
            body();
            CudaDriver.Check(CudaDriver.cuEventRecord(end, stream), "cuEventRecord");
            CudaDriver.Check(CudaDriver.cuEventSynchronize(end), "cuEventSynchronize");
            CudaDriver.Check(CudaDriver.cuEventElapsedTime(out float ms, start, end), "cuEventElapsedTime");
            return ms;
        }
        finally
        {
            CudaDriver.cuEventDestroy(start);
            CudaDriver.cuEventDestroy(end);
        }
    }

    // ---- memory

    /// <summary>Device bytes held by tensors and scratch (in allocator size classes), including tensors the GC has yet to finalize.</summary>
    public long BytesInUse
    {
        get
        {
            Enter();
            return allocator.BytesInUse;
        }
    }

    /// <summary>The most BytesInUse reached since the device opened or the last ResetPeak.</summary>
    public long PeakBytes => allocator.PeakBytes;

    public void ResetPeak()
    {
        Enter();
        allocator.ResetPeak();
    }

    public void Synchronize() => CudaDriver.Check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");

    public void Dispose()
    {
        if (disposed) return;
        Enter();
        disposed = true;
        Synchronize();
        allocator.ReleaseCache();
        modules.Dispose();
        cublas.Dispose();
        CudaDriver.cuStreamDestroy(stream);
        // Releasing the primary context frees every allocation still in it once no one else holds it.
        CudaDriver.Check(CudaDriver.cuDeviceGet(out int device, ordinal), "cuDeviceGet");
        CudaDriver.cuDevicePrimaryCtxRelease(device);
        currentContext = 0;
    }

    // ---- helpers

    /// <summary>Makes this device's context current on the calling thread (a thread-local switch, cheap).</summary>
    void Enter()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (currentContext == context) return;
        CudaDriver.Check(CudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        currentContext = context;
    }

    Tensor Allocate(int[] shape)
    {
        Enter();
        return new Tensor(this, shape, allocator.Allocate((long)Tensor.SizeOf(shape) * sizeof(float)));
    }

    CudaKernel Kernel(string file, string name) => modules[file, name];

    nint Ptr(Tensor t) => t.Device == this ? t.DevicePointer : throw new ArgumentException($"{t} is not on {Name}");

    // Scratch is taken before any tensor pointer in an op: allocating may free blocks whose tensors died.
    nint UploadInts(int[] values) => UploadInts(values, null).First;

    /// <summary>
    /// Two int arrays side by side in the int scratch, for an op that reads both (a second upload of its
    /// own would overwrite the first); a null array gets pointer 0 and takes no room.
    /// </summary>
    (nint First, nint Second) UploadInts(int[]? first, int[]? second)
    {
        long firstBytes = (long)(first?.Length ?? 0) * sizeof(int), bytes = firstBytes + (long)(second?.Length ?? 0) * sizeof(int);
        if (intScratch is null || intScratch.Bytes < bytes) intScratch = allocator.Allocate(Math.Max(bytes * 2, 4096));
        nint at = intScratch.Pointer;
        return (first is null ? 0 : CopyInts(first, at), second is null ? 0 : CopyInts(second, at + (nint)firstBytes));
    }

    nint CopyInts(int[] values, nint to)
    {
        if (values.Length > 0)
            fixed (int* p = values)
                CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(to, p, (nuint)values.Length * sizeof(int), stream), "cuMemcpyHtoDAsync_v2");
        return to;
    }

    /// <summary>values in the float scratch (stream order makes reuse safe, as for the int scratch).</summary>
    nint UploadFloats(float[] values)
    {
        nint at = FloatScratch(values.Length);
        fixed (float* p = values)
            CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(at, p, Bytes(values.Length), stream), "cuMemcpyHtoDAsync_v2");
        return at;
    }

    nint FloatScratch(int count)
    {
        long bytes = (long)count * sizeof(float);
        if (floatScratch is null || floatScratch.Bytes < bytes) floatScratch = allocator.Allocate(Math.Max(bytes * 2, 4096));
        return floatScratch.Pointer;
    }

    void CopyDeviceToDevice(nint src, nint dst, int count)
    {
        if (count > 0) CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync(dst, src, Bytes(count), stream), "cuMemcpyDtoDAsync_v2");
    }

    static nuint Bytes(int count) => (nuint)count * sizeof(float);
}
