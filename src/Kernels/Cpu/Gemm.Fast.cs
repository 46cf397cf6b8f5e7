// Fast fp32 GEMM, GotoBLAS/BLIS style: c[M,N] = (accumulate ? c : 0) + op(a)[M,K] @ op(b)[K,N].
//
// Micro-kernel (Gemm.MicroKernels.cs). Everything funnels into a register-blocked kernel that keeps an
// MR x NR tile of C in registers and walks K once: per k it loads one NR-wide row of packed B,
// broadcasts each of MR values of packed A, and does the FMAs. With AVX-512 the tile is 8 x 48: 24 zmm
// accumulators (+3 for B, of 32 registers) are enough independent FMA chains to hide the 4-cycle latency
// on two FMA ports, and 3 loads + 8 broadcasts per 24 FMAs use under half of what the load ports can do.
// The Vector256 kernel is 6 x 16 (12 of 16 ymm registers), the portable one 4 x 4. Accumulation is fp32.
//
// Packing. The kernel wants both operands contiguous in the order it reads them, whatever the
// transposes: A as micro-panels [k][MR], B as micro-panels [k][NR], zero-padded to a full MR/NR at the
// edges so the kernel never branches (edge tiles of C go through a scratch tile). An operand stored
// along K (a without transA, b with transB) is transposed while packing with in-register 8x8
// transposes; the other case is a row copy. Packed buffers are 64-byte aligned so no load splits a line.
//
// Blocking. K is cut into KC = 256 slices and N into blocks of up to NC = 768 columns. For each (block,
// slice) B is packed once (256 x 768 floats = 768 KB, which stays in each core's L2), then every A
// micro-panel (256 x 8 floats = 8 KB, packed just before use and resident in L1) is run against all B
// micro-panels of the block, streaming B from L2 at 16 bytes per cycle, well under what L2 delivers.
// C is loaded and stored once per slice: 48 vector memory ops against 6144 FMAs. (Measured on AVX-512:
// KC = 128 is slower, 384 no faster; NC = 480 is slower, 1536 loses at 2048.)
//
// Threading. Within each (block, slice) the B micro-panels are packed in parallel into one shared
// buffer, then the A micro-panels are spread over the cores with Parallel.For. A task (one A micro-panel
// against up to 16 B micro-panels) is ~16 us, so the balancing is dynamic and a core slowed by other
// load costs only its share. When there are too few row panels to keep every core busy, each block is
// also split by columns (each part repacks its A micro-panel). Problems under SerialWork stay on the
// calling thread.
//
// Small M (decode steps, M < MR) skips packing altogether (Gemm.Skinny.cs).
//
// bfloat16 weights (prefill projections, Gemm.Projection.cs) are widened while packing (Gemm.Bf16Panels.cs): packing
// already copies every element of B once, so it widens there too and the micro-kernel runs on fp32 as before.
// Each widened value is then used by all M rows, instead of widening the whole weight into a temporary first and
// reading it back.

using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DrICL.Kernels.Cpu;

/// <summary>The register-blocked inner kernels; the packing layout follows the kernel's MR x NR.</summary>
internal enum MicroKernel { Scalar4x4, Vector256x6x16, Vector512x8x48 }

public static partial class Gemm
{
    const int KC = 256;                // depth of a packed slice
    const int NC = 768;                // widest block of B packed per slice: KC x NC floats = 768 KB, held in L2
    const long SerialWork = 1L << 20;  // m*n*k below this (tens of microseconds) runs on the calling thread alone

    static MicroKernel Best =>
        Vector512.IsHardwareAccelerated ? MicroKernel.Vector512x8x48 :
        Vector256.IsHardwareAccelerated ? MicroKernel.Vector256x6x16 : MicroKernel.Scalar4x4;

    /// <summary>The fast GEMM with the semantics of <see cref="Reference"/>, on every core.</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool transA, bool transB, bool accumulate) =>
        Multiply(a, b, c, m, n, k, transA, transB, accumulate, Best, Environment.ProcessorCount);

    internal static unsafe void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool transA, bool transB, bool accumulate,
        MicroKernel kernel, int threads)
    {
        CheckSizes(a.Length, b.Length, c.Length, m, n, k);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) c[..(m * n)].Clear();
            return;
        }
        if ((long)m * n * k < SerialWork) threads = 1;
        var (mr, nr) = Shape(kernel);
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (m < mr)
                MultiplySkinny(pa, pb, pc, m, n, k, transA, transB, accumulate, threads);
            else
                new PackedJob(pa, pb, pc, m, n, k, transA, transB, accumulate, kernel, threads).Run();
        }
    }

    static (int Mr, int Nr) Shape(MicroKernel kernel) => kernel switch
    {
        MicroKernel.Vector512x8x48 => (8, 48),
        MicroKernel.Vector256x6x16 => (6, 16),
        _ => (4, 4),
    };

    static int Ceil(int x, int y) => (x + y - 1) / y;

    /// <summary>One packed GEMM call: B packed once per (column block, K slice) and shared, A micro-panels spread over threads.</summary>
    sealed unsafe class PackedJob
    {
        readonly float* a, b, c;
        readonly int m, n, k, mr, nr, threads, rowPanels, colParts;
        readonly bool transA, transB, accumulate;
        readonly MicroKernel kernel;
        readonly Action<int> packB, compute;
        readonly ParallelOptions options;
        float* packedB;
        int j0, j1, p0, kc, colPanels;

        public PackedJob(float* a, float* b, float* c, int m, int n, int k, bool transA, bool transB, bool accumulate, MicroKernel kernel, int threads)
        {
            this.a = a; this.b = b; this.c = c;
            (this.m, this.n, this.k, this.threads) = (m, n, k, threads);
            (this.transA, this.transB, this.accumulate, this.kernel) = (transA, transB, accumulate, kernel);
            (mr, nr) = Shape(kernel);
            rowPanels = Ceil(m, mr);
            // Fewer than 4 row panels per thread: split the columns too, so every thread has several tasks.
            colParts = rowPanels >= 4 * threads ? 1 : Math.Min(Ceil(Math.Min(n, NC), nr), Ceil(4 * threads, rowPanels));
            packB = PackB;
            compute = Compute;
            options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        }

        public void Run()
        {
            int nc = Math.Min(NC / nr, Ceil(n, nr)) * nr;
            var buffer = ArrayPool<float>.Shared.Rent(KC * nc + 16);  // + 16: room to align to 64 bytes
            try
            {
                fixed (float* pb = buffer)
                {
                    packedB = (float*)(((nint)pb + 63) & ~(nint)63);
                    for (j0 = 0; j0 < n; j0 += nc)
                    {
                        j1 = Math.Min(n, j0 + nc);
                        colPanels = Ceil(j1 - j0, nr);
                        for (p0 = 0; p0 < k; p0 += KC)
                        {
                            kc = Math.Min(KC, k - p0);
                            For(colPanels, packB);
                            For(rowPanels * colParts, compute);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
            }
        }

        void For(int count, Action<int> body)
        {
            if (threads == 1 || count == 1)
                for (int i = 0; i < count; i++) body(i);
            else
                Parallel.For(0, count, options, body);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void PackB(int panel)
        {
            int j = j0 + panel * nr;
            float* dst = packedB + panel * nr * kc;
            if (transB) PackTransposed(b + (nint)j * k + p0, k, kc, Math.Min(nr, j1 - j), nr, dst);
            else PackRows(b + (nint)p0 * n + j, n, kc, Math.Min(nr, j1 - j), nr, dst);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Compute(int task)
        {
            int i = task / colParts * mr, part = task % colParts, rows = Math.Min(mr, m - i);
            int perPart = Ceil(colPanels, colParts), q0 = part * perPart, q1 = Math.Min(colPanels, q0 + perPart);
            bool load = accumulate || p0 > 0;
            float* packedA = Buffers.A(KC * mr), scratch = Buffers.Scratch(mr * nr);
            if (transA) PackRows(a + (nint)p0 * m + i, m, kc, rows, mr, packedA);
            else PackTransposed(a + (nint)i * k + p0, k, kc, rows, mr, packedA);
            for (int q = q0; q < q1; q++)
            {
                int j = j0 + q * nr, cols = Math.Min(nr, j1 - j);
                float* bp = packedB + q * nr * kc, cp = c + (nint)i * n + j;
                if (rows == mr && cols == nr)
                    RunKernel(kernel, packedA, bp, cp, n, kc, load);
                else
                {
                    RunKernel(kernel, packedA, bp, scratch, nr, kc, false);
                    StoreEdge(scratch, nr, cp, n, rows, cols, load);
                }
            }
        }
    }

    // An edge tile computed into scratch [MR][NR]: its rows x cols corner is added to c (load) or copied.
    static unsafe void StoreEdge(float* scratch, int nr, float* c, nint ldc, int rows, int cols, bool load)
    {
        for (int r = 0; r < rows; r++)
        {
            var src = new ReadOnlySpan<float>(scratch + r * nr, cols);
            var dst = new Span<float>(c + r * ldc, cols);
            if (load) TensorPrimitives.Add(dst, src, dst);
            else src.CopyTo(dst);
        }
    }

    // dst[p*W + r] = src[p*ld + r] for r < w, zero for w <= r < W: rows of the operand are already rows of the panel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void PackRows(float* src, nint ld, int kc, int w, int W, float* dst)
    {
        for (int p = 0; p < kc; p++, src += ld, dst += W)
        {
            int r = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; r + 8 <= w; r += 8) Vector256.Store(Vector256.Load(src + r), dst + r);
            for (; r < w; r++) dst[r] = src[r];
            for (; r < W; r++) dst[r] = 0;
        }
    }

    // dst[p*W + r] = src[r*ld + p] for r < w, zero for w <= r < W: the operand runs along K and is transposed.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void PackTransposed(float* src, nint ld, int kc, int w, int W, float* dst)
    {
        int p = 0;
        if (Avx.IsSupported && w == W && W % 8 == 0)
            for (; p + 8 <= kc; p += 8)
                for (int r = 0; r < W; r += 8)
                    Transpose8x8(src + r * ld + p, ld, dst + p * W + r, W);
        for (int r = 0; r < W; r++)
            for (int q = p; q < kc; q++)
                dst[q * W + r] = r < w ? src[r * ld + q] : 0;
    }

    // d[j*ldd + i] = s[i*ld + j] for an 8x8 block: unpack pairs, shuffle quads, swap 128-bit halves (also
    // FlashAttention's transposes).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Transpose8x8(float* s, nint ld, float* d, nint ldd)
    {
        var r0 = Avx.LoadVector256(s); var r1 = Avx.LoadVector256(s + ld);
        var r2 = Avx.LoadVector256(s + 2 * ld); var r3 = Avx.LoadVector256(s + 3 * ld);
        var r4 = Avx.LoadVector256(s + 4 * ld); var r5 = Avx.LoadVector256(s + 5 * ld);
        var r6 = Avx.LoadVector256(s + 6 * ld); var r7 = Avx.LoadVector256(s + 7 * ld);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>Pinned, 64-byte aligned buffers for the A and B micro-panels, the edge tile and rows of a computed input, one set per thread, kept across calls.</summary>
    static unsafe class Buffers
    {
        [ThreadStatic] static float[]? a, b, scratch, input;

        public static float* A(int floats) => Get(ref a, floats);
        public static float* Input(int floats) => Get(ref input, floats);
        public static float* B(int floats) => Get(ref b, floats);
        public static float* Scratch(int floats) => Get(ref scratch, floats);

        static float* Get(ref float[]? buffer, int floats)
        {
            if (buffer == null || buffer.Length < floats + 16) buffer = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
            var p = Pinned.Address(buffer);
            return (float*)(((nint)p + 63) & ~(nint)63);
        }
    }
}
