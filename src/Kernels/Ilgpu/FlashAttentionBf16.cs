using System.Runtime.CompilerServices;
using ILGPU;
using static DrICL.Kernels.Ilgpu.AttentionMaskKernels;
using static DrICL.Kernels.Ilgpu.Bf16Tiles;

namespace DrICL.Kernels.Ilgpu;

// FlashAttentionBf16.cs: flash attention forward and backward on bf16 tensor cores (mma.sync m16n8k16, sm_80+),
// fp32 accumulation. Same inputs, masks,
// outputs and lse as FlashAttention.ForwardReference / BackwardReference, up to the bf16 rounding of every
// matrix-unit input (q, k, v, P, dO, dS). Ran only on ILGPU's CPU accelerator so far (Mma.cs's portable twin).
//
// Forward (FlashAttention-2, Dao 2023): a group of 4 warps owns 64 query rows of one (sequence, head), each
// warp 16 rows, whose Q fragments stay in registers for the whole kernel. Keys and values stream through
// shared memory in tiles of 64, converted to bf16 as they are staged. Per tile a warp computes its 16x64
// scores S = Q K^T with mma, scales and masks them, and runs the online softmax in registers: each lane holds
// two rows (g, g+8) and 16 of their scores; a row's max is reduced over the 4 lanes of its quad (shuffles by
// 1 and 2), the running output is rescaled by exp(m_old - m_new), and P = exp(S - m_new), rounded to bf16,
// feeds O += P V straight from the score registers (a C fragment's layout is an A fragment's). The running
// sum l stays a per-lane partial until the end. Finally O / l is stored and lse = m + log(l).
// Only tiles that can hold visible keys are visited (causal end, window start); a warp skips tiles that lie
// wholly after its last row. Every row sees at least its own key, so l > 0 for every stored row; masked
// scores are -inf and a row with nothing visible yet keeps m = -inf without producing NaN.
//
// Backward, after FlashAttentionKernels.BackwardDelta (delta_i = dO_i . O_i, a warp per row): a group owns 64 keys of one
// key/value head, each of its 4 warps 16 keys, and streams tiles of 16 query rows from every query head of
// the group that can see them. Per tile a warp computes, all by mma:
//   S^T = K Q^T, P^T = exp(scale S^T - lse) (masked: 0), dV += P^T dO,
//   dP^T = V dO^T, dS^T = scale P^T (dP^T - delta), dK += dS^T Q,
// feeding P^T and dS^T to the next product straight from registers. dK and dV stay in fp32 registers and
// are stored once. dQ needs a sum over the keys of every group, so each warp writes its 16x16 block of dS^T to
// shared memory, the warps split the tile's dQ += dS K by 8-column n-tiles (warp w takes w, w+4, ...) and add
// them to dq with fp32 atomics (dq is zeroed before the launch). The atomics make dq's summation order, and
// so its last bits, vary from run to run; dk and dv are deterministic.
//
// Retiled to fit 48 KiB of shared memory: ILGPU's bindings cannot opt a kernel in above 48 KiB, and the CUDA C
// backward needed ~133 KiB at d = 128 (row-major and transposed copies of K, Q, dO, 64-row query tiles). We
// retile instead of calling cuFuncSetAttribute through our own P/Invoke because the retiled kernel runs (and
// is tested) on every accelerator, including ILGPU's CPU one, while the opt-in path could not be exercised
// without a GPU. Two changes: every tile is stored once, row-major, and fragments that pair two rows of one
// column are built from 16-bit halves (Bf16Tiles.LoadBFromRows / LoadAFromColumns, ldmatrix.trans's job); and
// the backward's query tile is 16 rows, which also keeps S^T and dP^T at 2 n-tiles each in registers.
//
// Head dims are padded to DP in {32, 64, 128} (IHeadDim, a generic struct parameter: one compiled kernel per
// bucket with DP a constant, as CUDA's template <int DP>). ILGPU never unrolls loops, and a per-thread array
// indexed by a loop variable lives in local memory, so register tiles are structs of named fragments
// (QueryFragments, ScoreTile, OutputTile) whose per-n-tile work is written out, each step guarded by a
// constant test on DP that the compiler folds away.
// Shared memory, in 4-byte words (Stride(n) = (n + 8) / 2 words per row):
//   forward:  K and V tiles 2 * 64 Stride(DP), mask ids 2 * 64                      -> DP 128: 35 328 bytes
//   backward: K and V 2 * 64 Stride(DP), Q and dO 2 * 16 Stride(DP), dS^T 64 Stride(16),
//             lse and delta 2 * 16, mask ids 2 * 16 + 2 * 64                         -> DP 128: 47 360 bytes
// IlgpuAttentionBf16.ForwardSharedBytes / BackwardSharedBytes compute the same.

/// <summary>The padded head dimension a kernel is compiled for.</summary>
public interface IHeadDim
{
    int Padded { get; }
}

public struct HeadDim32 : IHeadDim { public readonly int Padded => 32; }
public struct HeadDim64 : IHeadDim { public readonly int Padded => 64; }
public struct HeadDim128 : IHeadDim { public readonly int Padded => 128; }

public static class FlashAttentionBf16Kernels
{
    public const int Warps = 4;
    public const int Threads = Warps * 32;
    public const int QueryRows = 64;         // forward: query rows per group, 16 per warp (the mma's M)
    public const int KeyTile = 64;           // forward: keys per tile; backward: keys per group, 16 per warp
    public const int BackwardQueryRows = 16; // backward: query rows per tile

    // q: [B,Tq,H,D], k, v: [B,Tk,KV,D], segments, sequences: [B,Tk] (when the mask uses them)
    // -> o: [B,Tq,H,D], lse: [B,H,Tq]; grid: (ceil(Tq/64), H, B), group: 128
    public static void Forward<TDim>(ArrayView<float> q, // [B,Tq,H,D]
        ArrayView<float> k, ArrayView<float> v,          // [B,Tk,KV,D]
        ArrayView<int> segments, ArrayView<int> sequences, // [B,Tk]
        ArrayView<float> o, ArrayView<float> lse,        // [B,Tq,H,D], [B,H,Tq]
        AttentionGeometry s, KernelMask mask) where TDim : struct, IHeadDim
    {
        int dp = default(TDim).Padded, rs = Stride(dp), d = s.HeadDim, tq = s.QueryLength, tk = s.KeyLength;
        var kTile = SharedMemory.Allocate<uint>(KeyTile * ((default(TDim).Padded + Pad) / 2)); // [64][DP+8]; first carries the Q fragments
        var vTile = SharedMemory.Allocate<uint>(KeyTile * ((default(TDim).Padded + Pad) / 2)); // [64][DP+8]
        var segS = SharedMemory.Allocate<int>(KeyTile);
        var seqS = SharedMemory.Allocate<int>(KeyTile);

        int b = Grid.IdxZ, h = Grid.IdxY, q0 = Grid.IdxX * QueryRows;
        int kvh = h / (s.Heads / s.KvHeads);
        int lane = Warp.LaneIdx, warp = Warp.WarpIdx, t = lane & 3;
        int row0 = q0 + warp * 16; // this warp's first query row
        long kvRowStride = (long)s.KvHeads * d, ids = (long)b * tk;

        StageRows(kTile, q, (((long)b * tq + q0) * s.Heads + h) * d, (long)s.Heads * d, tq - q0, QueryRows, d, dp);
        Group.Barrier();
        var qa = QueryFragments.Load(kTile, rs, warp * 16, dp);

        // This lane's rows: i0 = row0 + g and i1 = i0 + 8, the rows of C registers 0,1 and 2,3.
        var rows = RowIds.Of(row0 + (lane >> 2), tq, ids, segments, sequences, s.QueryOffset, mask);
        float m0 = float.NegativeInfinity, m1 = float.NegativeInfinity, l0 = 0f, l1 = 0f;
        var acc = new OutputTile();

        var keys = VisibleKeys(q0, Math.Min(q0 + QueryRows, tq) - 1, s.QueryOffset, mask);
        int warpKeyEnd = row0 < tq ? s.QueryOffset + Math.Min(row0 + 15, tq - 1) + 1 : 0; // 0: the warp has no rows

        for (int k0 = keys.Begin; k0 < keys.End; k0 += KeyTile)
        {
            Group.Barrier(); // the previous tile is consumed (first time: the Q fragments are read)
            long at = (((long)b * tk + k0) * s.KvHeads + kvh) * d;
            StageRows(kTile, k, at, kvRowStride, tk - k0, KeyTile, d, dp);
            StageRows(vTile, v, at, kvRowStride, tk - k0, KeyTile, d, dp);
            StageMaskIds(segS, seqS, segments, sequences, ids, k0, tk, KeyTile, mask);
            Group.Barrier();
            if (k0 < warpKeyEnd) // whole warp: otherwise every key of the tile is after its rows
            {
                // S = Q K^T: [16 rows][64 keys], then scale, mask and the tile's row maxima
                var sc = new ScoreTile();
                qa.Scores(ref sc.S0, kTile, rs, 0, dp);
                qa.Scores(ref sc.S1, kTile, rs, 8, dp);
                qa.Scores(ref sc.S2, kTile, rs, 16, dp);
                qa.Scores(ref sc.S3, kTile, rs, 24, dp);
                qa.Scores(ref sc.S4, kTile, rs, 32, dp);
                qa.Scores(ref sc.S5, kTile, rs, 40, dp);
                qa.Scores(ref sc.S6, kTile, rs, 48, dp);
                qa.Scores(ref sc.S7, kTile, rs, 56, dp);
                float max0 = float.NegativeInfinity, max1 = float.NegativeInfinity;
                sc.Mask(k0, 2 * t, tk, rows, segS, seqS, s.Scale, mask, ref max0, ref max1);

                // the quad's 4 lanes hold the row's 64 scores
                max0 = QuadMax(max0);
                max1 = QuadMax(max1);
                float c0 = Rescale(ref m0, max0), c1 = Rescale(ref m1, max1);
                l0 *= c0;
                l1 *= c1;
                sc.Exponentiate(m0, m1, ref l0, ref l1);
                acc.Scale(c0, c1, dp);

                // O += P V: P [16 rows][64 keys] from the score registers, 16 keys per k-step
                acc.AddProductFromRows(Mma.CToA(sc.S0, sc.S1), vTile, rs, 0, d, dp);
                acc.AddProductFromRows(Mma.CToA(sc.S2, sc.S3), vTile, rs, 16, d, dp);
                acc.AddProductFromRows(Mma.CToA(sc.S4, sc.S5), vTile, rs, 32, d, dp);
                acc.AddProductFromRows(Mma.CToA(sc.S6, sc.S7), vTile, rs, 48, d, dp);
            }
        }

        l0 = QuadSum(l0);
        l1 = QuadSum(l1);
        int i0 = row0 + (lane >> 2), i1 = i0 + 8;
        long o0 = (((long)b * tq + i0) * s.Heads + h) * d, o1 = (((long)b * tq + i1) * s.Heads + h) * d;
        acc.Store(o, o0, o1, i0 < tq, i1 < tq, 1f / l0, 1f / l1, d, dp); // l > 0: a query always sees its own key
        long lseRow = ((long)b * s.Heads + h) * tq;
        if (t == 0 && i0 < tq) lse[lseRow + i0] = m0 + MathF.Log(l0);
        if (t == 0 && i1 < tq) lse[lseRow + i1] = m1 + MathF.Log(l1);
    }

    // dO, q: [B,Tq,H,D], k, v: [B,Tk,KV,D], lse, delta: [B,H,Tq], segments, sequences: [B,Tk] (when used)
    // -> dq: [B,Tq,H,D] (accumulated into: zero it first), dk, dv: [B,Tk,KV,D] (overwritten)
    // grid: (ceil(Tk/64), KV, B), group: 128
    public static void Backward<TDim>(ArrayView<float> dO, ArrayView<float> q, // [B,Tq,H,D] each
        ArrayView<float> k, ArrayView<float> v,                                // [B,Tk,KV,D]
        ArrayView<float> lse, ArrayView<float> delta,                          // [B,H,Tq]
        ArrayView<int> segments, ArrayView<int> sequences,                     // [B,Tk]
        ArrayView<float> dq,                                                   // [B,Tq,H,D] accumulated
        ArrayView<float> dk, ArrayView<float> dv,                              // [B,Tk,KV,D] overwritten
        AttentionGeometry s, KernelMask mask) where TDim : struct, IHeadDim
    {
        const int bq = BackwardQueryRows, dsStride = (BackwardQueryRows + Pad) / 2;
        int dp = default(TDim).Padded, rs = Stride(dp), d = s.HeadDim, tq = s.QueryLength, tk = s.KeyLength;
        var kTile = SharedMemory.Allocate<uint>(KeyTile * ((default(TDim).Padded + Pad) / 2));  // [64 keys][DP+8]
        var vTile = SharedMemory.Allocate<uint>(KeyTile * ((default(TDim).Padded + Pad) / 2));  // [64 keys][DP+8]
        var qTile = SharedMemory.Allocate<uint>(bq * ((default(TDim).Padded + Pad) / 2));       // [16 rows][DP+8]
        var doTile = SharedMemory.Allocate<uint>(bq * ((default(TDim).Padded + Pad) / 2));      // [16 rows][DP+8]
        var dsT = SharedMemory.Allocate<uint>(KeyTile * dsStride);                              // [64 keys][16+8]: dS^T
        var lseS = SharedMemory.Allocate<float>(bq);
        var deltaS = SharedMemory.Allocate<float>(bq);
        var qsegS = SharedMemory.Allocate<int>(bq);
        var qseqS = SharedMemory.Allocate<int>(bq);
        var ksegS = SharedMemory.Allocate<int>(KeyTile);
        var kseqS = SharedMemory.Allocate<int>(KeyTile);

        int b = Grid.IdxZ, kvh = Grid.IdxY, k0 = Grid.IdxX * KeyTile;
        int group = s.Heads / s.KvHeads;
        int lane = Warp.LaneIdx, warp = Warp.WarpIdx, g = lane >> 2, t = lane & 3;
        int kw = warp * 16; // this warp's first key in the tile
        long ids = (long)b * tk, kvAt = (((long)b * tk + k0) * s.KvHeads + kvh) * d;

        StageRows(kTile, k, kvAt, (long)s.KvHeads * d, tk - k0, KeyTile, d, dp);
        StageRows(vTile, v, kvAt, (long)s.KvHeads * d, tk - k0, KeyTile, d, dp);
        StageMaskIds(ksegS, kseqS, segments, sequences, ids, k0, tk, KeyTile, mask);
        var dkAcc = new OutputTile();
        var dvAcc = new OutputTile();

        // Query rows that can see a key of this group: at or after its first key (causal), and with a window
        // no later than its last key + window - 1.
        int rowBegin = Math.Max(0, k0 - s.QueryOffset);
        int rowEnd = mask.Window > 0 ? Math.Min(tq, k0 + KeyTile - 1 + mask.Window - s.QueryOffset) : tq;

        for (int h = kvh * group; h < (kvh + 1) * group; h++)
            for (int i0 = rowBegin; i0 < rowEnd; i0 += bq)
            {
                Group.Barrier(); // the previous tile and its dS are consumed (first time: the key tiles are written)
                long at = (((long)b * tq + i0) * s.Heads + h) * d, rowStride = (long)s.Heads * d;
                StageRows(qTile, q, at, rowStride, tq - i0, bq, d, dp);
                StageRows(doTile, dO, at, rowStride, tq - i0, bq, d, dp);
                if (Group.IdxX < bq)
                {
                    int i = i0 + Group.IdxX;
                    long r = ((long)b * s.Heads + h) * tq + i;
                    lseS[Group.IdxX] = i < tq ? lse[r] : 0f;
                    deltaS[Group.IdxX] = i < tq ? delta[r] : 0f;
                }
                StageMaskIds(qsegS, qseqS, segments, sequences, ids + s.QueryOffset, i0, tq, bq, mask);
                Group.Barrier();

                // st: S^T, then P^T; dst: dP^T, then dS^T. [16 keys][16 rows] each, as 2 n-tiles of 8 rows.
                CFragment st0 = default, st1 = default, dst0 = default, dst1 = default;
                // Whole warp: skip when its keys are past Tk or after every row of the tile (causal); its dS stays 0.
                if (k0 + kw < tk && k0 + kw <= s.QueryOffset + Math.Min(i0 + bq, tq) - 1)
                {
                    KeyRowProducts(ref st0, ref st1, ref dst0, ref dst1, kTile, vTile, qTile, doTile, rs, kw, 0);
                    KeyRowProducts(ref st0, ref st1, ref dst0, ref dst1, kTile, vTile, qTile, doTile, rs, kw, 16);
                    if (dp > 32)
                    {
                        KeyRowProducts(ref st0, ref st1, ref dst0, ref dst1, kTile, vTile, qTile, doTile, rs, kw, 32);
                        KeyRowProducts(ref st0, ref st1, ref dst0, ref dst1, kTile, vTile, qTile, doTile, rs, kw, 48);
                    }
                    if (dp > 64)
                    {
                        KeyRowProducts(ref st0, ref st1, ref dst0, ref dst1, kTile, vTile, qTile, doTile, rs, kw, 64);
                        KeyRowProducts(ref st0, ref st1, ref dst0, ref dst1, kTile, vTile, qTile, doTile, rs, kw, 80);
                        KeyRowProducts(ref st0, ref st1, ref dst0, ref dst1, kTile, vTile, qTile, doTile, rs, kw, 96);
                        KeyRowProducts(ref st0, ref st1, ref dst0, ref dst1, kTile, vTile, qTile, doTile, rs, kw, 112);
                    }

                    var keyIds = new KeyRowIds { J0 = kw + g, First = k0, I0 = i0, Tq = tq, Tk = tk, QueryOffset = s.QueryOffset };
                    SoftmaxGradient(ref st0, ref dst0, 2 * t, keyIds, lseS, deltaS, qsegS, qseqS, ksegS, kseqS, s.Scale, mask);
                    SoftmaxGradient(ref st1, ref dst1, 8 + 2 * t, keyIds, lseS, deltaS, qsegS, qseqS, ksegS, kseqS, s.Scale, mask);

                    // dV += P^T dO, dK += dS^T Q: k over the tile's 16 rows, B from the row-major dO and Q tiles
                    dvAcc.AddProductFromRows(Mma.CToA(st0, st1), doTile, rs, 0, d, dp);
                    dkAcc.AddProductFromRows(Mma.CToA(dst0, dst1), qTile, rs, 0, d, dp);
                }

                // dS^T -> dsT, key-major: a C register pair is two adjacent rows of one key, one word
                dsT[(kw + g) * dsStride + t] = Bf16.Pack(dst0.C0, dst0.C1);
                dsT[(kw + g) * dsStride + 4 + t] = Bf16.Pack(dst1.C0, dst1.C1);
                dsT[(kw + g + 8) * dsStride + t] = Bf16.Pack(dst0.C2, dst0.C3);
                dsT[(kw + g + 8) * dsStride + 4 + t] = Bf16.Pack(dst1.C2, dst1.C3);
                Group.Barrier();

                // dQ += dS K: the tile's 16 rows [16 rows][64 keys] x [64 keys][D], warp w takes n-tiles w, w+4, ...
                var ds0 = LoadAFromColumns(dsT, dsStride, 0, 0);
                var ds1 = LoadAFromColumns(dsT, dsStride, 0, 16);
                var ds2 = LoadAFromColumns(dsT, dsStride, 0, 32);
                var ds3 = LoadAFromColumns(dsT, dsStride, 0, 48);
                int r0 = i0 + g, r1 = r0 + 8;
                long dq0 = (((long)b * tq + r0) * s.Heads + h) * d, dq1 = (((long)b * tq + r1) * s.Heads + h) * d;
                for (int n0 = 8 * warp; n0 < d; n0 += 8 * Warps) // whole warp
                {
                    var c = new CFragment();
                    Mma.MmaBf16(ref c, ds0, LoadBFromRows(kTile, rs, 0, n0));
                    Mma.MmaBf16(ref c, ds1, LoadBFromRows(kTile, rs, 16, n0));
                    Mma.MmaBf16(ref c, ds2, LoadBFromRows(kTile, rs, 32, n0));
                    Mma.MmaBf16(ref c, ds3, LoadBFromRows(kTile, rs, 48, n0));
                    int col = n0 + 2 * t;
                    if (r0 < tq && col < d) Atomic.Add(ref dq[dq0 + col], c.C0);
                    if (r0 < tq && col + 1 < d) Atomic.Add(ref dq[dq0 + col + 1], c.C1);
                    if (r1 < tq && col < d) Atomic.Add(ref dq[dq1 + col], c.C2);
                    if (r1 < tq && col + 1 < d) Atomic.Add(ref dq[dq1 + col + 1], c.C3);
                }
            }

        int j0 = k0 + kw + g, j1 = j0 + 8;
        long at0 = (((long)b * tk + j0) * s.KvHeads + kvh) * d, at1 = (((long)b * tk + j1) * s.KvHeads + kvh) * d;
        dkAcc.Store(dk, at0, at1, j0 < tk, j1 < tk, 1f, 1f, d, dp);
        dvAcc.Store(dv, at0, at1, j0 < tk, j1 < tk, 1f, 1f, d, dp);
    }

    // One 16-column k-step of S^T = K Q^T and dP^T = V dO^T for the warp's 16 keys against the tile's 16 rows.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void KeyRowProducts(ref CFragment st0, ref CFragment st1, ref CFragment dst0, ref CFragment dst1,
        ArrayView<uint> kTile, ArrayView<uint> vTile, ArrayView<uint> qTile, ArrayView<uint> doTile, int rs, int kw, int col0)
    {
        var ka = LoadA(kTile, rs, kw, col0);
        var va = LoadA(vTile, rs, kw, col0);
        Mma.MmaBf16(ref st0, ka, LoadB(qTile, rs, 0, col0));
        Mma.MmaBf16(ref st1, ka, LoadB(qTile, rs, 8, col0));
        Mma.MmaBf16(ref dst0, va, LoadB(doTile, rs, 0, col0));
        Mma.MmaBf16(ref dst1, va, LoadB(doTile, rs, 8, col0));
    }

    // P^T and dS^T of one n-tile: registers 0,1 are key J0 and rows ii, ii+1 (tile-local), 2,3 key J0 + 8.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void SoftmaxGradient(ref CFragment st, ref CFragment dst, int ii, KeyRowIds ids, ArrayView<float> lseS, ArrayView<float> deltaS,
        ArrayView<int> qsegS, ArrayView<int> qseqS, ArrayView<int> ksegS, ArrayView<int> kseqS, float scale, KernelMask mask)
    {
        SoftmaxGradient(ref st.C0, ref dst.C0, ids.J0, ii, ids, lseS, deltaS, qsegS, qseqS, ksegS, kseqS, scale, mask);
        SoftmaxGradient(ref st.C1, ref dst.C1, ids.J0, ii + 1, ids, lseS, deltaS, qsegS, qseqS, ksegS, kseqS, scale, mask);
        SoftmaxGradient(ref st.C2, ref dst.C2, ids.J0 + 8, ii, ids, lseS, deltaS, qsegS, qseqS, ksegS, kseqS, scale, mask);
        SoftmaxGradient(ref st.C3, ref dst.C3, ids.J0 + 8, ii + 1, ids, lseS, deltaS, qsegS, qseqS, ksegS, kseqS, scale, mask);
    }

    // st: s = k_j . q_i -> p = exp(scale s - lse_i) (0 when masked); dst: dp = v_j . dO_i -> ds = scale p (dp - delta_i)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void SoftmaxGradient(ref float st, ref float dst, int jl, int ii, KeyRowIds ids, ArrayView<float> lseS, ArrayView<float> deltaS,
        ArrayView<int> qsegS, ArrayView<int> qseqS, ArrayView<int> ksegS, ArrayView<int> kseqS, float scale, KernelMask mask)
    {
        int i = ids.I0 + ii, j = ids.First + jl;
        bool visible = i < ids.Tq && j < ids.Tk && KeyVisible(ids.QueryOffset + i, j, qsegS[ii], ksegS[jl], qseqS[ii], kseqS[jl], mask);
        float p = visible ? MathF.Exp(st * scale - lseS[ii]) : 0f;
        st = p;
        dst = p * (dst - deltaS[ii]) * scale;
    }

    // m_new = max(m, tile max); returns exp(m_old - m_new), the factor for the running sum and output.
    // m_new = -inf: nothing visible yet, acc and l are 0; exp(-inf - -inf) would be NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Rescale(ref float m, float tileMax)
    {
        float mNew = Math.Max(m, tileMax);
        float correction = mNew == float.NegativeInfinity ? 1f : MathF.Exp(m - mNew);
        m = mNew;
        return correction;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float QuadMax(float x)
    {
        x = Math.Max(x, Warp.ShuffleXor(x, 1));
        return Math.Max(x, Warp.ShuffleXor(x, 2));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float QuadSum(float x)
    {
        x += Warp.ShuffleXor(x, 1);
        return x + Warp.ShuffleXor(x, 2);
    }
}

/// <summary>The forward's two query rows of this lane: key indices, segment and sequence ids.</summary>
struct RowIds
{
    public int Qi0, Qi1, Si0, Si1, Ni0, Ni1;

    // i0: the lane's first row (before QueryOffset); its second is i0 + 8
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RowIds Of(int i0, int tq, long ids, ArrayView<int> segments, ArrayView<int> sequences, int queryOffset, KernelMask mask)
    {
        int i1 = i0 + 8, qi0 = queryOffset + i0, qi1 = queryOffset + i1;
        return new RowIds
        {
            Qi0 = qi0, Qi1 = qi1,
            Si0 = mask.Segmented != 0 && i0 < tq ? segments[ids + qi0] : 0,
            Si1 = mask.Segmented != 0 && i1 < tq ? segments[ids + qi1] : 0,
            Ni0 = mask.Sequenced != 0 && i0 < tq ? sequences[ids + qi0] : 0,
            Ni1 = mask.Sequenced != 0 && i1 < tq ? sequences[ids + qi1] : 0,
        };
    }
}

/// <summary>Where the backward's S^T fragments sit: the lane's first key J0 (tile-local), the key tile's first key, the row tile's first row.</summary>
struct KeyRowIds
{
    public int J0, First, I0, Tq, Tk, QueryOffset;
}

/// <summary>A warp's Q as A fragments: 16 rows by DP columns, one fragment per 16 columns (K0..K7 for DP = 128).</summary>
struct QueryFragments
{
    public AFragment K0, K1, K2, K3, K4, K5, K6, K7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static QueryFragments Load(ArrayView<uint> tile, int stride, int row0, int dp)
    {
        var f = new QueryFragments { K0 = Bf16Tiles.LoadA(tile, stride, row0, 0), K1 = Bf16Tiles.LoadA(tile, stride, row0, 16) };
        if (dp > 32)
        {
            f.K2 = Bf16Tiles.LoadA(tile, stride, row0, 32);
            f.K3 = Bf16Tiles.LoadA(tile, stride, row0, 48);
        }
        if (dp > 64)
        {
            f.K4 = Bf16Tiles.LoadA(tile, stride, row0, 64);
            f.K5 = Bf16Tiles.LoadA(tile, stride, row0, 80);
            f.K6 = Bf16Tiles.LoadA(tile, stride, row0, 96);
            f.K7 = Bf16Tiles.LoadA(tile, stride, row0, 112);
        }
        return f;
    }

    /// <summary>s = Q K^T for keys n0..n0+7 of a row-major K tile (the "col" B operand is K's rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Scores(ref CFragment s, ArrayView<uint> kTile, int stride, int n0, int dp)
    {
        Mma.MmaBf16(ref s, K0, Bf16Tiles.LoadB(kTile, stride, n0, 0));
        Mma.MmaBf16(ref s, K1, Bf16Tiles.LoadB(kTile, stride, n0, 16));
        if (dp > 32)
        {
            Mma.MmaBf16(ref s, K2, Bf16Tiles.LoadB(kTile, stride, n0, 32));
            Mma.MmaBf16(ref s, K3, Bf16Tiles.LoadB(kTile, stride, n0, 48));
        }
        if (dp > 64)
        {
            Mma.MmaBf16(ref s, K4, Bf16Tiles.LoadB(kTile, stride, n0, 64));
            Mma.MmaBf16(ref s, K5, Bf16Tiles.LoadB(kTile, stride, n0, 80));
            Mma.MmaBf16(ref s, K6, Bf16Tiles.LoadB(kTile, stride, n0, 96));
            Mma.MmaBf16(ref s, K7, Bf16Tiles.LoadB(kTile, stride, n0, 112));
        }
    }
}

/// <summary>A warp's 16x64 scores as 8 n-tiles of 8 keys; each lane holds rows g, g+8 and keys 2t, 2t+1 of each.</summary>
struct ScoreTile
{
    public CFragment S0, S1, S2, S3, S4, S5, S6, S7;

    /// <summary>Scales visible scores, sets the rest to -inf and folds them into the rows' maxima.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Mask(int k0, int key, int tk, RowIds rows, ArrayView<int> segS, ArrayView<int> seqS, float scale, KernelMask mask, ref float max0, ref float max1)
    {
        MaskFragment(ref S0, k0, key, tk, rows, segS, seqS, scale, mask, ref max0, ref max1);
        MaskFragment(ref S1, k0, key + 8, tk, rows, segS, seqS, scale, mask, ref max0, ref max1);
        MaskFragment(ref S2, k0, key + 16, tk, rows, segS, seqS, scale, mask, ref max0, ref max1);
        MaskFragment(ref S3, k0, key + 24, tk, rows, segS, seqS, scale, mask, ref max0, ref max1);
        MaskFragment(ref S4, k0, key + 32, tk, rows, segS, seqS, scale, mask, ref max0, ref max1);
        MaskFragment(ref S5, k0, key + 40, tk, rows, segS, seqS, scale, mask, ref max0, ref max1);
        MaskFragment(ref S6, k0, key + 48, tk, rows, segS, seqS, scale, mask, ref max0, ref max1);
        MaskFragment(ref S7, k0, key + 56, tk, rows, segS, seqS, scale, mask, ref max0, ref max1);
    }

    // jj: the tile-local key of registers 0 and 2 (1 and 3 hold jj + 1)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void MaskFragment(ref CFragment f, int k0, int jj, int tk, RowIds rows, ArrayView<int> segS, ArrayView<int> seqS, float scale, KernelMask mask,
        ref float max0, ref float max1)
    {
        f.C0 = MaskScore(f.C0, rows.Qi0, rows.Si0, rows.Ni0, k0, jj, tk, segS, seqS, scale, mask);
        f.C1 = MaskScore(f.C1, rows.Qi0, rows.Si0, rows.Ni0, k0, jj + 1, tk, segS, seqS, scale, mask);
        f.C2 = MaskScore(f.C2, rows.Qi1, rows.Si1, rows.Ni1, k0, jj, tk, segS, seqS, scale, mask);
        f.C3 = MaskScore(f.C3, rows.Qi1, rows.Si1, rows.Ni1, k0, jj + 1, tk, segS, seqS, scale, mask);
        max0 = Math.Max(max0, Math.Max(f.C0, f.C1));
        max1 = Math.Max(max1, Math.Max(f.C2, f.C3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float MaskScore(float score, int qi, int si, int ni, int k0, int jj, int tk, ArrayView<int> segS, ArrayView<int> seqS, float scale, KernelMask mask)
    {
        int j = k0 + jj;
        bool visible = j < tk && AttentionMaskKernels.KeyVisible(qi, j, si, segS[jj], ni, seqS[jj], mask);
        return visible ? score * scale : float.NegativeInfinity;
    }

    /// <summary>P = exp(S - m) per row (0 where masked), added into the rows' running sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exponentiate(float m0, float m1, ref float l0, ref float l1)
    {
        ExpFragment(ref S0, m0, m1, ref l0, ref l1);
        ExpFragment(ref S1, m0, m1, ref l0, ref l1);
        ExpFragment(ref S2, m0, m1, ref l0, ref l1);
        ExpFragment(ref S3, m0, m1, ref l0, ref l1);
        ExpFragment(ref S4, m0, m1, ref l0, ref l1);
        ExpFragment(ref S5, m0, m1, ref l0, ref l1);
        ExpFragment(ref S6, m0, m1, ref l0, ref l1);
        ExpFragment(ref S7, m0, m1, ref l0, ref l1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ExpFragment(ref CFragment f, float m0, float m1, ref float l0, ref float l1)
    {
        f.C0 = f.C0 == float.NegativeInfinity ? 0f : MathF.Exp(f.C0 - m0);
        f.C1 = f.C1 == float.NegativeInfinity ? 0f : MathF.Exp(f.C1 - m0);
        f.C2 = f.C2 == float.NegativeInfinity ? 0f : MathF.Exp(f.C2 - m1);
        f.C3 = f.C3 == float.NegativeInfinity ? 0f : MathF.Exp(f.C3 - m1);
        l0 += f.C0 + f.C1;
        l1 += f.C2 + f.C3;
    }
}

/// <summary>
/// A warp's 16 rows by DP columns of fp32 (O in the forward, dK or dV in the backward): 16 n-tiles of 8
/// columns, of which DP / 8 are used; each lane holds rows g, g+8 and columns 2t, 2t+1 of each.
/// </summary>
struct OutputTile
{
    public CFragment N0, N1, N2, N3, N4, N5, N6, N7, N8, N9, N10, N11, N12, N13, N14, N15;

    /// <summary>Multiplies row g by c0 and row g+8 by c1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Scale(float c0, float c1, int dp)
    {
        ScaleFragment(ref N0, c0, c1); ScaleFragment(ref N1, c0, c1); ScaleFragment(ref N2, c0, c1); ScaleFragment(ref N3, c0, c1);
        if (dp > 32)
        {
            ScaleFragment(ref N4, c0, c1); ScaleFragment(ref N5, c0, c1); ScaleFragment(ref N6, c0, c1); ScaleFragment(ref N7, c0, c1);
        }
        if (dp > 64)
        {
            ScaleFragment(ref N8, c0, c1); ScaleFragment(ref N9, c0, c1); ScaleFragment(ref N10, c0, c1); ScaleFragment(ref N11, c0, c1);
            ScaleFragment(ref N12, c0, c1); ScaleFragment(ref N13, c0, c1); ScaleFragment(ref N14, c0, c1); ScaleFragment(ref N15, c0, c1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ScaleFragment(ref CFragment f, float c0, float c1)
    {
        f.C0 *= c0; f.C1 *= c0; f.C2 *= c1; f.C3 *= c1;
    }

    /// <summary>
    /// this += a B, B = rows k0..k0+15 of a row-major [k][DP+8] tile; n-tiles past d are skipped (whole warp:
    /// their columns stay 0 and are never stored).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddProductFromRows(AFragment a, ArrayView<uint> tile, int stride, int k0, int d, int dp)
    {
        Product(ref N0, a, tile, stride, k0, 0, d); Product(ref N1, a, tile, stride, k0, 8, d);
        Product(ref N2, a, tile, stride, k0, 16, d); Product(ref N3, a, tile, stride, k0, 24, d);
        if (dp > 32)
        {
            Product(ref N4, a, tile, stride, k0, 32, d); Product(ref N5, a, tile, stride, k0, 40, d);
            Product(ref N6, a, tile, stride, k0, 48, d); Product(ref N7, a, tile, stride, k0, 56, d);
        }
        if (dp > 64)
        {
            Product(ref N8, a, tile, stride, k0, 64, d); Product(ref N9, a, tile, stride, k0, 72, d);
            Product(ref N10, a, tile, stride, k0, 80, d); Product(ref N11, a, tile, stride, k0, 88, d);
            Product(ref N12, a, tile, stride, k0, 96, d); Product(ref N13, a, tile, stride, k0, 104, d);
            Product(ref N14, a, tile, stride, k0, 112, d); Product(ref N15, a, tile, stride, k0, 120, d);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Product(ref CFragment c, AFragment a, ArrayView<uint> tile, int stride, int k0, int n0, int d)
    {
        if (n0 < d) Mma.MmaBf16(ref c, a, Bf16Tiles.LoadBFromRows(tile, stride, k0, n0));
    }

    /// <summary>Row g (times mul0) to dst[at0 + c], row g+8 (times mul1) to dst[at1 + c], for the lane's columns c &lt; d of rows that exist.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Store(ArrayView<float> dst, long at0, long at1, bool row0, bool row1, float mul0, float mul1, int d, int dp)
    {
        int c = 2 * (Warp.LaneIdx & 3);
        StoreFragment(N0, dst, at0, at1, row0, row1, mul0, mul1, c, d); StoreFragment(N1, dst, at0, at1, row0, row1, mul0, mul1, c + 8, d);
        StoreFragment(N2, dst, at0, at1, row0, row1, mul0, mul1, c + 16, d); StoreFragment(N3, dst, at0, at1, row0, row1, mul0, mul1, c + 24, d);
        if (dp > 32)
        {
            StoreFragment(N4, dst, at0, at1, row0, row1, mul0, mul1, c + 32, d); StoreFragment(N5, dst, at0, at1, row0, row1, mul0, mul1, c + 40, d);
            StoreFragment(N6, dst, at0, at1, row0, row1, mul0, mul1, c + 48, d); StoreFragment(N7, dst, at0, at1, row0, row1, mul0, mul1, c + 56, d);
        }
        if (dp > 64)
        {
            StoreFragment(N8, dst, at0, at1, row0, row1, mul0, mul1, c + 64, d); StoreFragment(N9, dst, at0, at1, row0, row1, mul0, mul1, c + 72, d);
            StoreFragment(N10, dst, at0, at1, row0, row1, mul0, mul1, c + 80, d); StoreFragment(N11, dst, at0, at1, row0, row1, mul0, mul1, c + 88, d);
            StoreFragment(N12, dst, at0, at1, row0, row1, mul0, mul1, c + 96, d); StoreFragment(N13, dst, at0, at1, row0, row1, mul0, mul1, c + 104, d);
            StoreFragment(N14, dst, at0, at1, row0, row1, mul0, mul1, c + 112, d); StoreFragment(N15, dst, at0, at1, row0, row1, mul0, mul1, c + 120, d);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreFragment(CFragment f, ArrayView<float> dst, long at0, long at1, bool row0, bool row1, float mul0, float mul1, int c, int d)
    {
        if (row0 && c < d) dst[at0 + c] = f.C0 * mul0;
        if (row0 && c + 1 < d) dst[at0 + c + 1] = f.C1 * mul0;
        if (row1 && c < d) dst[at1 + c] = f.C2 * mul1;
        if (row1 && c + 1 < d) dst[at1 + c + 1] = f.C3 * mul1;
    }
}
