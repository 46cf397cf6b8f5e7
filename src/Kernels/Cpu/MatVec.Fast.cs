// Matrix-vector products for batch-1 decoding, fast path. Decoding one token reads every weight once, so
// the kernels are built around the load stream: four rows at a time share each load of x (which stays in
// L1), with independent accumulators per row so the FMA latency hides behind the loads. A quad of rows
// is one contiguous run of memory, and so is a thread's whole range of rows; each step also prefetches the
// lines PrefetchAhead bytes further along that run (up to the range's end). The hardware prefetcher stops
// at every 4 KB page (a memory-mapped file has no huge pages) and ramps up again; the software prefetch
// keeps misses in flight across those boundaries. (Measured on one core in thread CPU time on a loaded
// machine, 110M shapes: the 4096x768 gate|up product went from 10 to 12-25 GB/s, the others unchanged.)
//
// bfloat16 rows are read without a separate widening pass: 32 bf16 values are loaded as 16 uint32 lanes;
// the even elements are the low halves (lane << 16 is their float32) and the odd ones the high halves
// (lane & 0xFFFF0000). x is rearranged once per product so that each 32-wide block holds its 16 even then
// its 16 odd elements, and each half multiplies the matching weights. This is what AVX512-BF16's
// vdpbf16ps does in one instruction; .NET 10 exposes no intrinsic for it, and on a memory-bound kernel
// the shift and mask are free. The product of a bf16 weight and a float32 x is exact in float32 up to
// x's own rounding, so results differ from the float32 kernel only by the summation order.
//
// FusedMatVec computes several products that share one input (q, k, v; gate, up) as one parallel step:
// their rows are concatenated and cut into chunks of whole 16-row units, which the team's members claim.

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DrICL.Kernels.Cpu;

public static unsafe partial class MatVec
{
    /// <summary>Rearranges x for the bf16 kernel: each full 32-wide block becomes its 16 even then 16 odd elements; the tail is copied.</summary>
    public static void PairUp(float* x, float* pairs, int cols)
    {
        int full = cols / 32 * 32, p = 0;
        if (Avx512F.IsSupported)
        {
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            var odd = even + Vector512<int>.One;
            for (; p < full; p += 32)
            {
                var lo = Vector512.Load(x + p);
                var hi = Vector512.Load(x + p + 16);
                Avx512F.PermuteVar16x32x2(lo, even, hi).Store(pairs + p);
                Avx512F.PermuteVar16x32x2(lo, odd, hi).Store(pairs + p + 16);
            }
        }
        for (; p < full; p += 32)
            for (int i = 0; i < 16; i++)
            {
                pairs[p + i] = x[p + 2 * i];
                pairs[p + 16 + i] = x[p + 2 * i + 1];
            }
        for (; p < cols; p++) pairs[p] = x[p];
    }

    const int PrefetchAhead = 8192;  // bytes; 2 KB to 16 KB measured alike

    /// <summary>y[r] = W[r,:] · x for rows [r0, r1). pairs is x after PairUp (read only for bf16 weights).</summary>
    public static void Rows(WeightMatrix w, float* x, float* pairs, float* y, int r0, int r1)
    {
        int r = r0;
        if (Vector512.IsHardwareAccelerated)
        {
            if (w.Format == WeightFormat.F32)
                for (; r + 4 <= r1; r += 4) F32Rows4(w, r, x, y + r, (byte*)w.F32Row(r1));
            else
                for (; r + 4 <= r1; r += 4) Bf16Rows4(w, r, pairs, y + r, (byte*)w.Bf16Row(r1));
        }
        for (; r < r1; r++) y[r] = ScalarRow(w, r, x);
    }

    static float ScalarRow(WeightMatrix w, int r, float* x)
    {
        float sum = 0;
        if (w.Format == WeightFormat.F32)
        {
            float* row = w.F32Row(r);
            for (int c = 0; c < w.Cols; c++) sum += row[c] * x[c];
        }
        else
        {
            ushort* row = w.Bf16Row(r);
            for (int c = 0; c < w.Cols; c++) sum += Bf16.ToFloat(row[c]) * x[c];
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static byte* Prefetch4Lines(byte* ahead, byte* end)
    {
        if (ahead >= end || !Sse.IsSupported) return ahead;
        Sse.Prefetch0(ahead);
        Sse.Prefetch0(ahead + 64);
        Sse.Prefetch0(ahead + 128);
        Sse.Prefetch0(ahead + 192);
        return ahead + 256;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void F32Rows4(WeightMatrix w, int r, float* x, float* y, byte* end)
    {
        int n = w.Cols, p = 0;
        float* w0 = w.F32Row(r), w1 = w0 + n, w2 = w1 + n, w3 = w2 + n;
        byte* ahead = (byte*)w0 + PrefetchAhead;  // 4 lines per step: the quad's own size (16n bytes) over its n/16 steps
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; p + 16 <= n; p += 16)
        {
            ahead = Prefetch4Lines(ahead, end);
            var xv = Vector512.Load(x + p);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w0 + p), xv, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + p), xv, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + p), xv, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + p), xv, a3);
        }
        float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1), s2 = Vector512.Sum(a2), s3 = Vector512.Sum(a3);
        for (; p < n; p++)
        {
            s0 += w0[p] * x[p]; s1 += w1[p] * x[p]; s2 += w2[p] * x[p]; s3 += w3[p] * x[p];
        }
        y[0] = s0; y[1] = s1; y[2] = s2; y[3] = s3;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Bf16Rows4(WeightMatrix w, int r, float* pairs, float* y, byte* end)
    {
        int n = w.Cols, p = 0;
        ushort* w0 = w.Bf16Row(r), w1 = w0 + n, w2 = w1 + n, w3 = w2 + n;
        byte* ahead = (byte*)w0 + PrefetchAhead;  // 4 lines per step: the quad's own size (8n bytes) over its n/32 steps
        var high = Vector512.Create(0xFFFF0000u);
        Vector512<float> e0 = default, e1 = default, e2 = default, e3 = default;
        Vector512<float> o0 = default, o1 = default, o2 = default, o3 = default;
        for (; p + 32 <= n; p += 32)
        {
            ahead = Prefetch4Lines(ahead, end);
            var xe = Vector512.Load(pairs + p);
            var xo = Vector512.Load(pairs + p + 16);
            var u0 = Vector512.Load((uint*)(w0 + p));
            var u1 = Vector512.Load((uint*)(w1 + p));
            var u2 = Vector512.Load((uint*)(w2 + p));
            var u3 = Vector512.Load((uint*)(w3 + p));
            e0 = Vector512.FusedMultiplyAdd((u0 << 16).AsSingle(), xe, e0);
            o0 = Vector512.FusedMultiplyAdd((u0 & high).AsSingle(), xo, o0);
            e1 = Vector512.FusedMultiplyAdd((u1 << 16).AsSingle(), xe, e1);
            o1 = Vector512.FusedMultiplyAdd((u1 & high).AsSingle(), xo, o1);
            e2 = Vector512.FusedMultiplyAdd((u2 << 16).AsSingle(), xe, e2);
            o2 = Vector512.FusedMultiplyAdd((u2 & high).AsSingle(), xo, o2);
            e3 = Vector512.FusedMultiplyAdd((u3 << 16).AsSingle(), xe, e3);
            o3 = Vector512.FusedMultiplyAdd((u3 & high).AsSingle(), xo, o3);
        }
        float s0 = Vector512.Sum(e0 + o0), s1 = Vector512.Sum(e1 + o1), s2 = Vector512.Sum(e2 + o2), s3 = Vector512.Sum(e3 + o3);
        for (; p < n; p++)  // the tail of pairs is x itself
        {
            float xp = pairs[p];
            s0 += Bf16.ToFloat(w0[p]) * xp; s1 += Bf16.ToFloat(w1[p]) * xp;
            s2 += Bf16.ToFloat(w2[p]) * xp; s3 += Bf16.ToFloat(w3[p]) * xp;
        }
        y[0] = s0; y[1] = s1; y[2] = s2; y[3] = s3;
    }
}

/// <summary>
/// y_i = W_i x for matrices that share their input (and column count), as one parallel step: the rows of
/// all W_i are cut into chunks for the team. Built once with fixed buffers; Run allocates nothing.
/// </summary>
public sealed unsafe class FusedMatVec : ITeamJob
{
    readonly WeightMatrix[] weights;
    readonly nint[] outputs;
    readonly float* x, pairs;
    readonly int totalRows;
    readonly bool anyBf16;

    /// <param name="outputs">y_i, each holding weights[i].Rows floats.</param>
    /// <param name="x">the shared input, Cols floats.</param>
    /// <param name="pairs">scratch of Cols floats for the bf16 layout of x.</param>
    public FusedMatVec(WeightMatrix[] weights, nint[] outputs, float* x, float* pairs)
    {
        if (weights.Length == 0 || weights.Length != outputs.Length) throw new ArgumentException($"{weights.Length} weights for {outputs.Length} outputs");
        if (weights.Any(w => w.Cols != weights[0].Cols)) throw new ArgumentException("fused matrices must share their column count");
        this.weights = weights;
        this.outputs = outputs;
        this.x = x;
        this.pairs = pairs;
        totalRows = weights.Sum(w => w.Rows);
        anyBf16 = weights.Any(w => w.Format == WeightFormat.Bf16);
    }

    public void Run(ThreadTeam team)
    {
        if (anyBf16) MatVec.PairUp(x, pairs, weights[0].Cols);
        int units = (totalRows + Unit - 1) / Unit;
        team.Run(this, team.Size == 1 ? 1 : Math.Clamp(units / MinUnitsPerChunk, 1, ChunksPerMember * team.Size));
    }

    // Chunks are whole units of 16 rows, so two threads never write the same 64-byte line of y; at least 64
    // rows, and one per team member. Each claim is an atomic both threads contend for, and each chunk starts a
    // new stream for the prefetcher, so a few long chunks beat many short ones (2 threads, interleaved A/B: 4
    // chunks instead of up to 32, stories15M bf16 decode +10% and stories110M +5%; then 2 instead of 4, +3% at
    // stories15M, ahead in 5 of 6 pairs, and the same rate with a busy loop on one of the two cores). A member
    // that starts late still costs little: the caller claims whatever chunk is left.
    const int Unit = 16, MinUnitsPerChunk = 4, ChunksPerMember = 1;

    public void Execute(int chunk, int chunks)
    {
        int units = (totalRows + Unit - 1) / Unit;
        int start = (int)((long)units * chunk / chunks) * Unit, end = Math.Min(totalRows, (int)((long)units * (chunk + 1) / chunks) * Unit);
        int offset = 0;
        for (int i = 0; i < weights.Length && start < end; i++)
        {
            int rows = weights[i].Rows;
            int r0 = Math.Max(start - offset, 0), r1 = Math.Min(end - offset, rows);
            if (r0 < r1) MatVec.Rows(weights[i], x, pairs, (float*)outputs[i], r0, r1);
            offset += rows;
        }
    }
}
