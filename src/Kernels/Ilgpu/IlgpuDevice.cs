using DrICL.Kernels.Profiling;
using System.Diagnostics;
using ILGPU;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using static DrICL.Kernels.DeviceChecks;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// The engine on a GPU through ILGPU: tensors in accelerator buffers, ops as the C# kernels in this folder
/// (compiled by ILGPU when the device opens) and matrix multiplies on cuBLAS. The same kernels run on
/// ILGPU's CUDA accelerator (`cuda:N`) and on its CPU accelerator (`ilgpu-cpu`, CPUDeviceKind.Nvidia: warps
/// of 32, shared memory, barriers, shuffles and atomics simulated with threads), where they can be run,
/// debugged and stepped through without a GPU; there GEMM takes the tiled kernel in Gemm.cs instead of cuBLAS.
/// Everything is queued on one stream, in order; only Download and SumOfSquares wait for it. Integer inputs
/// (ids, labels, positions) are copied per call into one reusable device buffer, which stream order makes
/// safe to reuse; for the same reason tensor memory comes from a caching allocator that recycles buffers
/// without waiting. Semantics are those of CpuDevice's reference kernels, up to float rounding and summation
/// order. Not thread-safe: one thread drives a device at a time.
/// Ran only on ILGPU's CPU accelerator so far: nothing here has run on a GPU yet.
/// </summary>
public sealed class IlgpuDevice : IDevice, ITimedDevice
{
    /// <summary>
    /// Threads per group of the row kernels (RMSNorm, embedding, cross-entropy, sum of squares): 256 on a GPU;
    /// two warps on the CPU accelerator, where every thread is an OS thread and barriers dominate, yet the
    /// reductions still cross warps.
    /// </summary>
    readonly int threads;

    readonly Context context;
    readonly Accelerator accelerator;
    readonly AcceleratorStream stream;
    readonly IlgpuAllocator allocator;
    readonly Cublas? cublas;
    readonly string? gemmFallbackReason;
    readonly IlgpuMemory sumScratch;
    readonly IlgpuAttention attention;
    readonly IlgpuAttentionBf16? attentionBf16;
    IlgpuMemory? intScratch;
    bool disposed;

    [ThreadStatic] static Accelerator? bound;

    readonly Action<AcceleratorStream, Index1D, ArrayView<float>, float> fill, scale;
    readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> add, swiGlu;
    readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>> accumulate;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmKernels.Shape> gemm;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> embedding, embeddingBackward;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> rmsNorm;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> rmsNormBackwardDx;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> rmsNormBackwardDw;
    readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int> rope;
    readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> swiGluBackward;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int> crossEntropy;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> crossEntropyBackward;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, int, ArrayView<double>> sumOfSquares;
    readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWKernels.StepScalars> adamW;

    public string Name { get; }
    /// <summary>What ILGPU calls the accelerator, e.g. NVIDIA H100 80GB HBM3, or CPUAccelerator.</summary>
    public string GpuName => accelerator.Name;
    public ComputePrecision Precision { get; }
    /// <summary>Whether this is a CUDA GPU (else ILGPU's CPU accelerator).</summary>
    public bool IsCuda => accelerator is CudaAccelerator;
    /// <summary>Whether matrix multiplies run on cuBLAS (else on GemmKernels.Tiled).</summary>
    public bool UsesCublas => cublas is not null;

    IlgpuDevice(string name, Context context, Accelerator accelerator, ComputePrecision precision)
    {
        Name = name;
        Precision = precision;
        this.context = context;
        this.accelerator = accelerator;
        threads = accelerator is CudaAccelerator ? 256 : 64;
        Enter();
        stream = accelerator.CreateStream();
        allocator = new IlgpuAllocator(accelerator, stream);
        if (accelerator is CudaAccelerator)
        {
            try
            {
                cublas = new Cublas(((CudaStream)stream).StreamPtr);
            }
            catch (DllNotFoundException e)
            {
                gemmFallbackReason = e.Message; // shown by ToString, which benchmarks print first
            }
        }
        sumScratch = allocator.Allocate(sizeof(double));
        attention = new IlgpuAttention(accelerator);
        if (precision == ComputePrecision.Bf16) attentionBf16 = new IlgpuAttentionBf16(accelerator);

        fill = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, float>(ElementwiseKernels.Fill);
        scale = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, float>(ElementwiseKernels.Scale);
        add = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ElementwiseKernels.Add);
        accumulate = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>>(ElementwiseKernels.Accumulate);
        gemm = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmKernels.Shape>(GemmKernels.Tiled);
        embedding = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(EmbeddingKernels.Forward);
        embeddingBackward = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(EmbeddingKernels.Backward);
        rmsNorm = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(RmsNormKernels.Forward);
        rmsNormBackwardDx = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(RmsNormKernels.BackwardDx);
        rmsNormBackwardDw = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(RmsNormKernels.BackwardDw);
        rope = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>(RopeKernels.Apply);
        swiGlu = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(SwiGluKernels.Forward);
        swiGluBackward = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(SwiGluKernels.Backward);
        crossEntropy = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int>(CrossEntropyKernels.Forward);
        crossEntropyBackward = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(CrossEntropyKernels.Backward);
        sumOfSquares = accelerator.LoadKernel<ArrayView<float>, int, ArrayView<double>>(AdamWKernels.SumOfSquares);
        adamW = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWKernels.StepScalars>(AdamWKernels.Step);
    }

    /// <summary>
    /// Opens CUDA GPU `ordinal` through ILGPU (which loads the driver as libcuda and makes a context of its
    /// own). Throws NotSupportedException when ILGPU finds no such GPU (no driver, or no usable device).
    /// </summary>
    public static IlgpuDevice OpenCuda(int ordinal, ComputePrecision precision)
    {
        var context = Context.Create(b => b.Cuda(PinInstructionSet).Optimize(OptimizationLevel.O2).EnableAlgorithms().Profiling());
        try
        {
            var gpus = context.GetCudaDevices();
            if (ordinal < 0 || ordinal >= gpus.Count)
                throw new NotSupportedException(gpus.Count == 0
                    ? "ILGPU found no CUDA GPU (no NVIDIA driver, libcuda, or no supported device)"
                    : $"no CUDA device {ordinal}: this machine has {gpus.Count}");
            return new IlgpuDevice($"cuda:{ordinal}", context, gpus[ordinal].CreateCudaAccelerator(context), precision);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>Opens ILGPU's CPU accelerator shaped like an NVIDIA GPU (warps of 32, groups up to 1024).</summary>
    public static IlgpuDevice OpenCpu(ComputePrecision precision)
    {
        var context = Context.Create(b => b.CPU(CPUDeviceKind.Nvidia).Optimize(OptimizationLevel.O2).EnableAlgorithms().Profiling());
        try
        {
            return new IlgpuDevice("ilgpu-cpu", context, context.GetCPUDevice(0).CreateCPUAccelerator(context), precision);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// ILGPU picks the newest PTX instruction set its table allows for the installed driver; the table ends
    /// at CUDA 12.9 (ISA 8.8). On that driver or a newer one (CUDA 13) pin that newest ISA explicitly, which
    /// newer drivers still load, rather than rely on a lookup that knows nothing of them.
    /// </summary>
    static void PinInstructionSet(CudaDeviceOverride device)
    {
        var newest = PTXCodeGenerator.SupportedInstructionSets.First(); // sorted newest first
        if (device.Device.DriverVersion >= CudaDriverVersionUtils.GetMinimumDriverVersion(newest)) device.InstructionSet = newest;
    }

    /// <summary>For --profile: op times from profiling markers on this device's stream, resolved once per step.</summary>
    public IDeviceTimer CreateTimer() => new StreamEventTimer(stream);

    public override string ToString() => accelerator is CudaAccelerator cuda
        ? $"{Name} ({GpuName}, compute capability {cuda.Architecture}, PTX ISA {cuda.InstructionSet}, driver {cuda.DriverVersion}, {Precision} compute, " +
          $"GEMM on {(UsesCublas ? cublas!.LibraryName : $"the tiled kernel: {gemmFallbackReason}")})"
        : $"{Name} (ILGPU CPU accelerator, warps of {accelerator.WarpSize}, {Precision} compute, GEMM on the tiled kernel)";

    // ---- storage

    public Tensor Zeros(params int[] shape)
    {
        var t = Allocate(shape);
        if (t.Length > 0) t.View.MemSetToZero(stream);
        return t;
    }

    public unsafe Tensor Upload(ReadOnlySpan<float> host, params int[] shape)
    {
        var t = Allocate(shape);
        if (host.Length != t.Length) throw new ArgumentException($"{host.Length} values do not fill shape {Tensor.Format(shape)}");
        if (t.Length == 0) return t;
        fixed (float* p = host) t.View.CopyFromCPUUnsafeAsync(stream, ref *p, t.Length);
        return t;
    }

    public unsafe void Download(Tensor t, Span<float> host)
    {
        var view = View(t);
        if (host.Length < t.Length) throw new ArgumentException($"{host.Length} floats cannot hold {t}");
        if (t.Length == 0) return;
        fixed (float* p = host) view.CopyToCPUUnsafeAsync(stream, ref *p, t.Length);
        stream.Synchronize();
    }

    public void Fill(Tensor t, float value)
    {
        var view = View(t);
        if (t.Length > 0) fill(stream, t.Length, view, value);
    }

    public void Copy(Tensor src, Tensor dst)
    {
        var (s, d) = (View(src), View(dst));
        SameLength(src, dst);
        if (src.Length > 0) s.CopyTo(stream, d);
    }

    public void CopyRows(Tensor src, Tensor dst, int dstRow)
    {
        var (s, d) = (View(src), View(dst));
        if (src.Columns != dst.Columns || dstRow < 0 || dstRow + src.Rows > dst.Rows)
            throw new ArgumentException($"cannot copy {src} into {dst} at row {dstRow}");
        if (src.Length > 0) s.CopyTo(stream, d.SubView((long)dstRow * dst.Columns, src.Length));
    }

    // ---- elementwise

    public void Add(Tensor a, Tensor b, Tensor y)
    {
        var (va, vb, vy) = (View(a), View(b), View(y));
        SameLength(a, b); SameLength(a, y);
        if (a.Length > 0) add(stream, a.Length, va, vb, vy);
    }

    public void Accumulate(Tensor dst, Tensor src)
    {
        var (vd, vs) = (View(dst), View(src));
        SameLength(dst, src);
        if (dst.Length > 0) accumulate(stream, dst.Length, vd, vs);
    }

    public void Scale(Tensor t, float factor)
    {
        var view = View(t);
        if (t.Length > 0) scale(stream, t.Length, view, factor);
    }

    // ---- matrix multiply

    public void MatMul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, bool accumulate)
    {
        var (va, vb, vc) = (View(a), View(b), View(c));
        int m = transA ? a.Columns : a.Rows, k = transA ? a.Rows : a.Columns;
        int kb = transB ? b.Columns : b.Rows, n = transB ? b.Rows : b.Columns;
        if (k != kb || c.Rows != m || c.Columns != n)
            throw new ArgumentException($"matmul shapes do not fit: {a}{(transA ? "ᵀ" : "")} @ {b}{(transB ? "ᵀ" : "")} -> {c}");
        if (m == 0 || n == 0) return;
        if (cublas is not null)
        {
            cublas.Gemm(a.DevicePointer, b.DevicePointer, c.DevicePointer, m, n, k, transA, transB, accumulate, Precision);
            return;
        }
        var grid = new Index2D((n + GemmKernels.Tile - 1) / GemmKernels.Tile, (m + GemmKernels.Tile - 1) / GemmKernels.Tile);
        gemm(stream, new KernelConfig(grid, new Index2D(GemmKernels.Tile, GemmKernels.Tile)), va, vb, vc,
            new GemmKernels.Shape(m, n, k, transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0, Precision == ComputePrecision.Bf16 ? 1 : 0));
    }

    // ---- model ops

    public void Embedding(Tensor table, int[] ids, Tensor y)
    {
        foreach (var id in ids) Cpu.Embedding.CheckId(id, table.Rows);
        Require(y.Length == (long)ids.Length * table.Columns, $"embedding of {ids.Length} ids from {table} does not fit {y}");
        var idsOnDevice = UploadInts(ids);
        if (ids.Length > 0) embedding(stream, new KernelConfig(ids.Length, threads), View(table), idsOnDevice, View(y), table.Columns);
    }

    public void EmbeddingBackward(Tensor dy, int[] ids, Tensor dtable)
    {
        foreach (var id in ids) Cpu.Embedding.CheckId(id, dtable.Rows);
        Require(dy.Length == (long)ids.Length * dtable.Columns, $"embedding gradient {dy} does not fit {ids.Length} ids of {dtable}");
        var idsOnDevice = UploadInts(ids);
        if (ids.Length > 0) embeddingBackward(stream, new KernelConfig(ids.Length, threads), View(dy), idsOnDevice, View(dtable), dtable.Columns);
    }

    public void RmsNorm(Tensor x, Tensor w, Tensor y, Tensor rstd, float eps)
    {
        var (vx, vw, vy, vr) = (View(x), View(w), View(y), View(rstd));
        Require(w.Length == x.Columns && y.Length == x.Length && rstd.Length == x.Rows, $"rmsnorm shapes do not fit: x {x}, w {w}, y {y}, rstd {rstd}");
        if (x.Length > 0) rmsNorm(stream, new KernelConfig(x.Rows, threads), vx, vw, vy, vr, x.Columns, eps);
    }

    public void RmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, Tensor dw)
    {
        var (vdy, vx, vw, vr, vdx, vdw) = (View(dy), View(x), View(w), View(rstd), View(dx), View(dw));
        Require(w.Length == x.Columns && dw.Length == x.Columns && dy.Length == x.Length && dx.Length == x.Length && rstd.Length == x.Rows,
            $"rmsnorm backward shapes do not fit: dy {dy}, x {x}, w {w}, rstd {rstd}, dx {dx}, dw {dw}");
        if (x.Length == 0) return;
        rmsNormBackwardDx(stream, new KernelConfig(x.Rows, threads), vdy, vx, vw, vr, vdx, x.Columns);
        rmsNormBackwardDw(stream, new KernelConfig((x.Columns + 31) / 32, 32 * RmsNormKernels.DwWarps), vdy, vx, vr, vdw, x.Rows, x.Columns);
    }

    public void Rope(Tensor x, int[] positions, int batch, int seq, int heads, int headDim, RopeFrequencies frequencies, bool inverse)
    {
        Require(frequencies.HeadDim == headDim, $"rope frequencies for head dim {frequencies.HeadDim} applied to head dim {headDim}");
        Require(positions.Length == batch * seq && x.Length == (long)batch * seq * heads * headDim,
            $"rope of {batch}x{seq} tokens, {heads} heads of {headDim} does not fit {x} with {positions.Length} positions");
        var (positionsOnDevice, invFreq) = UploadInts(positions, frequencies.Inverse);
        int pairs = batch * seq * heads * (headDim / 2);
        if (pairs > 0) rope(stream, pairs, View(x), positionsOnDevice, invFreq, heads, headDim, inverse ? 1 : 0);
    }

    public void SwiGlu(Tensor gate, Tensor up, Tensor h)
    {
        var (vg, vu, vh) = (View(gate), View(up), View(h));
        SameLength(gate, up); SameLength(gate, h);
        if (h.Length > 0) swiGlu(stream, h.Length, vg, vu, vh);
    }

    public void SwiGluBackward(Tensor dh, Tensor gate, Tensor up, Tensor dgate, Tensor dup)
    {
        var (vdh, vg, vu, vdg, vdu) = (View(dh), View(gate), View(up), View(dgate), View(dup));
        SameLength(dh, gate); SameLength(dh, up); SameLength(dh, dgate); SameLength(dh, dup);
        if (dh.Length > 0) swiGluBackward(stream, dh.Length, vdh, vg, vu, vdg, vdu);
    }

    public void Attention(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, AttentionShape shape, AttentionMask mask)
    {
        Enter();
        DeviceChecks.Attention(shape, mask, q, k, v, o, lse);
        var (vq, vk, vv, vo, vlse) = (View(q), View(k), View(v), View(o), View(lse));
        if (UsesBf16Attention(shape)) attentionBf16!.Forward(stream, vq, vk, vv, vo, vlse, shape, mask);
        else attention.Forward(stream, vq, vk, vv, vo, vlse, shape, mask);
    }

    public void AttentionBackward(Tensor dO, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dq, Tensor dk, Tensor dv, AttentionShape shape, AttentionMask mask)
    {
        Enter();
        DeviceChecks.Attention(shape, mask, q, k, v, o, lse);
        SameLength(dO, q); SameLength(dq, q); SameLength(dk, k); SameLength(dv, v);
        var (vdo, vq, vk, vv, vo, vlse) = (View(dO), View(q), View(k), View(v), View(o), View(lse));
        var (vdq, vdk, vdv) = (View(dq), View(dk), View(dv));
        if (UsesBf16Attention(shape)) attentionBf16!.Backward(stream, vdo, vq, vk, vv, vo, vlse, vdq, vdk, vdv, shape, mask);
        else attention.Backward(stream, vdo, vq, vk, vv, vo, vlse, vdq, vdk, vdv, shape, mask);
    }

    /// <summary>bf16 compute takes the tensor-core kernels where they apply (head dim, architecture); the rest the fp32 ones.</summary>
    bool UsesBf16Attention(AttentionShape shape) => attentionBf16 is not null && attentionBf16.Supports(shape);

    public void CrossEntropy(Tensor logits, int[] labels, Tensor nll, Tensor lse)
    {
        DeviceChecks.Labels(logits, labels);
        Require(nll.Length == logits.Rows && lse.Length == logits.Rows, $"cross-entropy outputs {nll}, {lse} do not fit {logits}");
        var labelsOnDevice = UploadInts(labels);
        if (logits.Rows > 0) crossEntropy(stream, new KernelConfig(logits.Rows, threads), View(logits), labelsOnDevice, View(nll), View(lse), logits.Columns);
    }

    public void CrossEntropyBackward(Tensor logits, int[] labels, Tensor lse, Tensor weights, Tensor dlogits)
    {
        DeviceChecks.Labels(logits, labels);
        Require(lse.Length == logits.Rows && weights.Length == logits.Rows && dlogits.Length == logits.Length,
            $"cross-entropy backward shapes do not fit: logits {logits}, lse {lse}, weights {weights}, dlogits {dlogits}");
        var labelsOnDevice = UploadInts(labels);
        if (logits.Rows > 0)
            crossEntropyBackward(stream, new KernelConfig(logits.Rows, threads), View(logits), labelsOnDevice, View(lse), View(weights), View(dlogits), logits.Columns);
    }

    // ---- optimizer

    public double SumOfSquares(Tensor t)
    {
        var view = View(t);
        var sum = sumScratch.Buffer.View.BaseView.Cast<double>().SubView(0, 1);
        sum.MemSetToZero(stream);
        // Enough groups to fill the accelerator; the grid-stride loop covers the rest.
        int groups = (int)Math.Clamp((t.Length + threads - 1L) / threads, 1, Math.Max(1, accelerator.MaxNumThreads / threads));
        if (t.Length > 0) sumOfSquares(stream, new KernelConfig(groups, threads), view, t.Length, sum);
        var result = new double[1];
        sum.CopyToCPUUnsafeAsync(stream, ref result[0], 1);
        stream.Synchronize();
        return result[0];
    }

    public void AdamW(Tensor p, Tensor g, Tensor m, Tensor v, AdamWConfig config, int step, float gradScale)
    {
        var (vp, vg, vm, vv) = (View(p), View(g), View(m), View(v));
        SameLength(p, g); SameLength(p, m); SameLength(p, v);
        float bc1 = 1f - MathF.Pow(config.Beta1, step), bc2 = 1f - MathF.Pow(config.Beta2, step);
        if (p.Length > 0)
            adamW(stream, p.Length, vp, vg, vm, vv, new AdamWKernels.StepScalars(config.Lr, config.Beta1, config.Beta2, config.Eps, config.WeightDecay, bc1, bc2, gradScale));
    }

    // ---- timing and memory (for benchmarks)

    /// <summary>Wall time of the work `body` queues, from an idle stream until the stream has drained again.</summary>
    public float TimeMilliseconds(Action body)
    {
        Synchronize();
        var clock = Stopwatch.StartNew();
        body();
        Synchronize();
        return (float)clock.Elapsed.TotalMilliseconds;
    }

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

    public void Synchronize()
    {
        Enter();
        stream.Synchronize();
    }

    public void Dispose()
    {
        if (disposed) return;
        Enter();
        disposed = true;
        allocator.FreeAll();
        attention.Dispose();
        attentionBf16?.Dispose();
        cublas?.Dispose();
        stream.Dispose();
        accelerator.Dispose();
        context.Dispose();
        bound = null;
    }

    // ---- helpers

    /// <summary>Binds the accelerator (its CUDA context) to the calling thread when another one is bound (a thread-local check, cheap).</summary>
    void Enter()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (bound == accelerator) return;
        accelerator.Bind();
        bound = accelerator;
    }

    Tensor Allocate(int[] shape)
    {
        Enter();
        return new Tensor(this, shape, allocator.Allocate((long)Tensor.SizeOf(shape) * sizeof(float)));
    }

    ArrayView<float> View(Tensor t)
    {
        Enter();
        return t.Device == this ? t.View : throw new ArgumentException($"{t} is not on {Name}");
    }

    // Scratch is taken before any tensor's view in an op: allocating may recycle buffers whose tensors died.
    ArrayView<int> UploadInts(int[] values) => UploadInts(values, []).Ints;

    /// <summary>
    /// An int array and a float array side by side in the scratch buffer, for an op that reads both (a
    /// second upload of its own would overwrite the first).
    /// </summary>
    unsafe (ArrayView<int> Ints, ArrayView<float> Floats) UploadInts(int[] ints, float[] floats)
    {
        Enter();
        long bytes = ((long)ints.Length + floats.Length) * sizeof(int);
        if (intScratch is null || intScratch.Bytes < bytes) intScratch = allocator.Allocate(Math.Max(bytes * 2, 4096));
        var all = intScratch.Buffer.View.BaseView;
        var (intView, floatView) = (all.SubView(0, ints.Length).Cast<int>(), all.SubView(ints.Length, floats.Length));
        if (ints.Length > 0)
            fixed (int* p = ints) intView.CopyFromCPUUnsafeAsync(stream, ref *p, ints.Length);
        if (floats.Length > 0)
            fixed (float* p = floats) floatView.CopyFromCPUUnsafeAsync(stream, ref *p, floats.Length);
        return (intView, floatView);
    }
}
