// FlashAttention.cs (Kernels/Ilgpu): flash attention forward and backward, fp32, with the engine's masks and
// grouped-query heads. Semantics: those of
// Cpu/FlashAttention.ForwardReference and BackwardReference. Ran only on ILGPU's CPU accelerator so far.
//
// Forward (FlashAttention, Dao et al. 2022, with the online softmax of Milakov & Gimelshein 2018): a group owns
// RowsPerWarp = 4 query rows per warp of one (sequence, head). Keys and values stream through shared memory in
// tiles of KeyTile = 32, one key per lane: lane j scores its key against a row, the warp takes the tile's max,
// rescales the row's running sum l and output accumulator by exp(m_old - m_new), and adds p_j * v_j: each p_j
// goes to a [rows][32] shared tile and every lane reads it back as a broadcast while lane c accumulates output
// dimensions c, c+32, .... Each lane keeps its own share of l (the rescaling is the same on every lane), summed
// over the warp once at the end. The [Tq,Tk] matrix is never formed. lse = m + log(l) is saved for the
// backward. Only tiles that can hold visible keys are visited (causal end, window start:
// AttentionMaskKernels.VisibleKeys).
//
// Backward, with P = softmax(S) recomputed from the saved lse (P_ij = exp(scale q_i.k_j - lse_i)) and
// delta_i = dO_i . O_i:  dV_j = sum_i P_ij dO_i,  dP_ij = dO_i . v_j,  dS_ij = P_ij (dP_ij - delta_i),
// dQ_i = scale sum_j dS_ij k_j,  dK_j = scale sum_i dS_ij q_i. Three kernels, none with atomics, so the result
// is deterministic and every output is overwritten:
//  1. BackwardDelta: delta, one warp per query row.
//  2. BackwardDq: like the forward, 4 query rows per warp of one head stream key/value tiles of 32 (one key per
//     lane); dS goes through a [rows][32] shared tile; each row's dQ stays in registers (lane c holds dims
//     c, c+32, ...).
//  3. BackwardDkDv: 4 keys per warp of one key/value head stream tiles of QueryTile = 32 query rows (one per
//     lane) from every query head of the group that can see them; P and dS go through [keys][32] shared tiles;
//     dK and dV stay in registers. Scores are computed twice (in 2 and 3), the price of no atomics.
// 2 and 3 read the same AttentionBackwardInputs and lay out their dynamic shared memory alike (StageOwnedRows):
// the rows the group owns of two operands (dQ: Q and dO; dK/dV: K and V), [n][D] each and staged once, then the
// [32][D+1] tile the other side streams through.
//
// Choices made for ILGPU:
//  - p and dS reach the other lanes through shared memory, not one shuffle per key: as cheap on a GPU (a
//    broadcast read), ordered by the barriers the tiles need anyway (one __syncwarp in dQ), and about 8 times
//    fewer warp synchronizations on ILGPU's CPU accelerator, where each one wakes 32 OS threads;
//  - ILGPU's bindings cannot opt in to more than 48 KiB of shared memory per group (separate dQ and dK/dV
//    tiles would take just over 48 KiB at D = 128, and all three 80-97 KiB at D = 256), so one [32][D+1] tile buffer holds
//    the key tile's K and V in turn (forward: K for the scores, then V; dQ: V for dP, then K for the scores and
//    dQ; dK/dV: the query tile's Q for P, then dO for dP and dV, then Q again for dK), with a barrier between
//    the halves, and a group has 4 warps except at the 256 bucket: 2 in the forward, 1 in the backward.
// Shared bytes (IlgpuAttention computes the same), for W warps: forward (4W D + 32 (D+1)) floats dynamic +
// 16*32 floats + 2*32 ints static; dQ (8W D + 32 (D+1)) + 16*32 floats + 2*32 ints; dK/dV (8W D + 32 (D+1)) +
// 2*16*32 + 2*32 floats + 2*32 + 2*16 ints: at most 45,824 bytes (dK/dV at D = 256). The +1 pad puts lane j's
// row j of a tile in its own bank.
//
// ILGPU does not unroll loops, so a lane's D-wide accumulator is the struct LaneRow of 8 named floats, each
// statement guarded by the head-dim bucket (a SpecializedValue: 32, 64, 128, 256, so chunks = bucket / 32 is
// a compile-time constant and the unused fields fold away), and each warp's 4 rows (or keys) are 4 named
// locals handled by the same inlined step functions: no per-thread array, so nothing needs local memory.
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace DrICL.Kernels.Ilgpu;

/// <summary>The shape of one attention call as the kernels take it (AttentionShape without the batch: that is the grid).</summary>
public struct AttentionGeometry
{
    public int QueryLength, KeyLength, Heads, KvHeads, HeadDim, QueryOffset;
    public float Scale;

    public static AttentionGeometry From(AttentionShape s) => new()
    {
        QueryLength = s.QueryLength, KeyLength = s.KeyLength, Heads = s.Heads, KvHeads = s.KvHeads,
        HeadDim = s.HeadDim, QueryOffset = s.QueryOffset, Scale = s.Scale,
    };

    // Row x of [B,T,heads,D] for batch b, head h: base + x * rowStride.
    internal readonly long QueryBase(int b, int h) => ((long)b * QueryLength * Heads + h) * HeadDim;
    internal readonly long KeyBase(int b, int kvh) => ((long)b * KeyLength * KvHeads + kvh) * HeadDim;
    internal readonly int QueryRowStride => Heads * HeadDim;
    internal readonly int KeyRowStride => KvHeads * HeadDim;
}

/// <summary>What both backward kernels read: the forward's inputs, dO, the forward's lse and BackwardDelta's delta.</summary>
public struct AttentionBackwardInputs
{
    public ArrayView<float> DO, Q;              // [B,Tq,H,D]
    public ArrayView<float> K, V;               // [B,Tk,KV,D]
    public ArrayView<float> Lse, Delta;         // [B,H,Tq]
    public ArrayView<int> Segments, Sequences;  // [B,Tk], read only when the mask uses them
}

/// <summary>
/// A backward kernel's dynamic shared memory: the rows its group owns of two operands, held for the whole kernel
/// (dQ: its query rows of Q and dO; dK/dV: its keys of K and V), then the tile the other side streams through.
/// </summary>
internal struct OwnedRows
{
    public ArrayView<float> First, Second; // [n][d] each
    public ArrayView<float> Tile;          // [32][d+1]
}

/// <summary>A lane's share of one D-wide row: dims lane, lane+32, ..., lane+224, in named fields (registers).</summary>
internal struct LaneRow
{
    public float C0, C1, C2, C3, C4, C5, C6, C7;

    // Every statement is guarded first by the bucket's chunk count (a constant) and then by d.
    internal static LaneRow Scale(LaneRow a, float f, int chunks)
    {
        a.C0 *= f;
        if (chunks > 1) a.C1 *= f;
        if (chunks > 2) { a.C2 *= f; a.C3 *= f; }
        if (chunks > 4) { a.C4 *= f; a.C5 *= f; a.C6 *= f; a.C7 *= f; }
        return a;
    }

    // a += f * row[at + c*32 + lane] for the lane's dims below d
    internal static LaneRow AddScaled(LaneRow a, float f, ArrayView<float> row, int at, int lane, int d, int chunks)
    {
        at += lane;
        if (lane < d) a.C0 += f * row[at];
        if (chunks > 1 && 32 + lane < d) a.C1 += f * row[at + 32];
        if (chunks > 2 && 64 + lane < d) a.C2 += f * row[at + 64];
        if (chunks > 2 && 96 + lane < d) a.C3 += f * row[at + 96];
        if (chunks > 4 && 128 + lane < d) a.C4 += f * row[at + 128];
        if (chunks > 4 && 160 + lane < d) a.C5 += f * row[at + 160];
        if (chunks > 4 && 192 + lane < d) a.C6 += f * row[at + 192];
        if (chunks > 4 && 224 + lane < d) a.C7 += f * row[at + 224];
        return a;
    }

    // dst[at + c*32 + lane] = f * a.Cc for the lane's dims below d
    internal static void Store(LaneRow a, float f, ArrayView<float> dst, long at, int lane, int d, int chunks)
    {
        at += lane;
        if (lane < d) dst[at] = f * a.C0;
        if (chunks > 1 && 32 + lane < d) dst[at + 32] = f * a.C1;
        if (chunks > 2 && 64 + lane < d) dst[at + 64] = f * a.C2;
        if (chunks > 2 && 96 + lane < d) dst[at + 96] = f * a.C3;
        if (chunks > 4 && 128 + lane < d) dst[at + 128] = f * a.C4;
        if (chunks > 4 && 160 + lane < d) dst[at + 160] = f * a.C5;
        if (chunks > 4 && 192 + lane < d) dst[at + 192] = f * a.C6;
        if (chunks > 4 && 224 + lane < d) dst[at + 224] = f * a.C7;
    }
}

/// <summary>Where a query sits for the mask: its key index (QueryOffset + i) and the ids of that position.</summary>
internal struct QueryPosition
{
    public bool InRange; // i < Tq; otherwise the row is padding and the whole warp skips it
    public int Key, Segment, Sequence;

    internal static QueryPosition At(int i, int b, AttentionGeometry g, ArrayView<int> segments, ArrayView<int> sequences, KernelMask mask)
    {
        var p = new QueryPosition { InRange = i < g.QueryLength, Key = g.QueryOffset + i };
        long at = (long)b * g.KeyLength + p.Key;
        p.Segment = mask.Segmented != 0 && p.InRange ? segments[at] : 0;
        p.Sequence = mask.Sequenced != 0 && p.InRange ? sequences[at] : 0;
        return p;
    }
}

/// <summary>A query row of the forward: running max m, the lane's share of the running sum l, the output accumulator.</summary>
internal struct ForwardRow
{
    public QueryPosition At;
    public float Max, Sum;
    public bool Live; // this tile holds a key the row sees
    public LaneRow Acc;
}

/// <summary>A query row of the dQ kernel: its lse and delta, this tile's dP and dS for the lane's key, the dQ accumulator.</summary>
internal struct DqRow
{
    public QueryPosition At;
    public float Lse, Delta, Dp;
    public bool Visible, Live; // the lane's key is visible; some lane's is
    public LaneRow Acc;
}

/// <summary>A key of the dK/dV kernel: whether the lane's query sees it, this query tile's P for it, the dK and dV accumulators.</summary>
internal struct KeyColumn
{
    public int Local, Key; // within the group's key rows; key index j
    public bool InRange, Visible, Live;
    public float P;
    public LaneRow Dk, Dv;
}

public static class FlashAttentionKernels
{
    public const int KeyTile = 32;     // keys per tile in Forward and BackwardDq, one per lane
    public const int RowsPerWarp = 4;  // query rows per warp in Forward and BackwardDq
    public const int QueryTile = 32;   // query rows per tile in BackwardDkDv, one per lane
    public const int KeysPerWarp = 4;  // keys per warp in BackwardDkDv
    public const int MaxRowsPerGroup = 4 * RowsPerWarp; // groups of at most 4 warps
    public const int MaxKeysPerGroup = 4 * KeysPerWarp;
    public const int DeltaRowsPerGroup = 8; // BackwardDelta: a warp per row, 256 threads

    // q: [B,Tq,H,D], k, v: [B,Tk,KV,D], segments, sequences: [B,Tk] (read only when the mask uses them)
    // -> o: [B,Tq,H,D], lse: [B,H,Tq]; grid: (ceil(Tq / 4W), H, B), group: 32 W; dynamic shared: (4W D + 32 (D+1)) floats
    public static void Forward(
        ArrayView<float> q,         // [B,Tq,H,D]
        ArrayView<float> k,         // [B,Tk,KV,D]
        ArrayView<float> v,         // [B,Tk,KV,D]
        ArrayView<int> segments,    // [B,Tk]
        ArrayView<int> sequences,   // [B,Tk]
        ArrayView<float> o,         // [B,Tq,H,D], overwritten
        ArrayView<float> lse,       // [B,H,Tq], overwritten
        AttentionGeometry g, KernelMask mask, SpecializedValue<int> headDimBucket)
    {
        int chunks = headDimBucket.Value / 32, d = g.HeadDim, stride = d + 1;
        int rows = Group.DimX / 32 * RowsPerWarp;
        var shared = SharedMemory.GetDynamic<float>();
        var qShared = shared.SubView(0, rows * d);                 // [rows][d]
        var kvShared = shared.SubView(rows * d, KeyTile * stride); // [32][d+1]: the key tile's K, then its V
        var pShared = SharedMemory.Allocate<float>(MaxRowsPerGroup * KeyTile); // [rows][32]: each row's p_j
        var segShared = SharedMemory.Allocate<int>(KeyTile);
        var seqShared = SharedMemory.Allocate<int>(KeyTile);

        int b = Grid.IdxZ, h = Grid.IdxY, q0 = Grid.IdxX * rows;
        int kvh = h / (g.Heads / g.KvHeads), lane = Warp.LaneIdx, first = Warp.WarpIdx * RowsPerWarp;
        long qBase = g.QueryBase(b, h), kBase = g.KeyBase(b, kvh), idsRow = (long)b * g.KeyLength;
        StageTile(qShared, d, q, qBase, g.QueryRowStride, q0, rows, g.QueryLength, d);

        var r0 = StartForward(q0 + first, b, g, segments, sequences, mask);
        var r1 = StartForward(q0 + first + 1, b, g, segments, sequences, mask);
        var r2 = StartForward(q0 + first + 2, b, g, segments, sequences, mask);
        var r3 = StartForward(q0 + first + 3, b, g, segments, sequences, mask);

        var keys = AttentionMaskKernels.VisibleKeys(q0, Math.Min(q0 + rows, g.QueryLength) - 1, g.QueryOffset, mask);
        for (int k0 = keys.Begin; k0 < keys.End; k0 += KeyTile)
        {
            Group.Barrier(); // the previous tile's V is consumed (first time: qShared is written)
            StageTile(kvShared, stride, k, kBase, g.KeyRowStride, k0, KeyTile, g.KeyLength, d);
            AttentionMaskKernels.StageMaskIds(segShared, seqShared, segments, sequences, idsRow, k0, g.KeyLength, KeyTile, mask);
            Group.Barrier();
            int j = k0 + lane, sj = segShared[lane], nj = seqShared[lane];
            r0 = ScoreForward(r0, first, qShared, kvShared, pShared, j, sj, nj, g, mask, chunks);
            r1 = ScoreForward(r1, first + 1, qShared, kvShared, pShared, j, sj, nj, g, mask, chunks);
            r2 = ScoreForward(r2, first + 2, qShared, kvShared, pShared, j, sj, nj, g, mask, chunks);
            r3 = ScoreForward(r3, first + 3, qShared, kvShared, pShared, j, sj, nj, g, mask, chunks);
            Group.Barrier(); // the scores are taken (K may be overwritten) and every p_j is in pShared
            StageTile(kvShared, stride, v, kBase, g.KeyRowStride, k0, KeyTile, g.KeyLength, d);
            Group.Barrier();
            r0 = AccumulateForward(r0, first, pShared, kvShared, d, chunks);
            r1 = AccumulateForward(r1, first + 1, pShared, kvShared, d, chunks);
            r2 = AccumulateForward(r2, first + 2, pShared, kvShared, d, chunks);
            r3 = AccumulateForward(r3, first + 3, pShared, kvShared, d, chunks);
        }

        FinishForward(r0, q0 + first, b, h, o, lse, g, chunks);
        FinishForward(r1, q0 + first + 1, b, h, o, lse, g, chunks);
        FinishForward(r2, q0 + first + 2, b, h, o, lse, g, chunks);
        FinishForward(r3, q0 + first + 3, b, h, o, lse, g, chunks);
    }

    static ForwardRow StartForward(int i, int b, AttentionGeometry g, ArrayView<int> segments, ArrayView<int> sequences, KernelMask mask) =>
        new() { At = QueryPosition.At(i, b, g, segments, sequences, mask), Max = float.NegativeInfinity };

    // Lane j's score against row `local` of qShared, then the online-softmax update of m, the lane's share of l
    // and the accumulator's scale; p_j goes to pShared for the accumulation after the next barrier.
    static ForwardRow ScoreForward(ForwardRow row, int local, ArrayView<float> qShared, ArrayView<float> kShared, ArrayView<float> pShared,
        int j, int sj, int nj, AttentionGeometry g, KernelMask mask, int chunks)
    {
        row.Live = false;
        if (!row.At.InRange) return row; // whole warp: the row does not depend on the lane
        int d = g.HeadDim;
        float s = float.NegativeInfinity;
        if (AttentionMaskKernels.KeyVisible(row.At.Key, j, row.At.Segment, sj, row.At.Sequence, nj, mask))
            s = Dot(qShared, local * d, kShared, Warp.LaneIdx * (d + 1), d) * g.Scale;
        float tileMax = WarpMax(s);
        if (tileMax == float.NegativeInfinity) return row; // no visible key in this tile for this row
        float mNew = XMath.Max(row.Max, tileMax);
        float correction = XMath.Exp(row.Max - mNew); // 0 on the row's first visible tile
        float p = s == float.NegativeInfinity ? 0f : XMath.Exp(s - mNew);
        row.Sum = row.Sum * correction + p; // correction is the same on every lane: the warp sum waits for the end
        pShared[local * KeyTile + Warp.LaneIdx] = p;
        row.Acc = LaneRow.Scale(row.Acc, correction, chunks);
        row.Max = mNew;
        row.Live = true;
        return row;
    }

    // acc += sum_j p_j v_j over the tile
    static ForwardRow AccumulateForward(ForwardRow row, int local, ArrayView<float> pShared, ArrayView<float> vShared, int d, int chunks)
    {
        if (row.Live) row.Acc = AddTile(row.Acc, pShared, local * KeyTile, vShared, d, chunks);
        return row;
    }

    static void FinishForward(ForwardRow row, int i, int b, int h, ArrayView<float> o, ArrayView<float> lse, AttentionGeometry g, int chunks)
    {
        if (!row.At.InRange) return;
        float sum = WarpSum(row.Sum); // > 0: a query always sees its own key
        LaneRow.Store(row.Acc, 1f / sum, o, g.QueryBase(b, h) + (long)i * g.QueryRowStride, Warp.LaneIdx, g.HeadDim, chunks);
        if (Warp.IsFirstLane) lse[((long)b * g.Heads + h) * g.QueryLength + i] = row.Max + XMath.Log(sum);
    }

    // dO, o: [B,Tq,H,D] -> delta: [B,H,Tq]; grid: ceil(B*Tq*H / 8), group: 256 (a warp per row)
    public static void BackwardDelta(
        ArrayView<float> dO,        // [B,Tq,H,D]
        ArrayView<float> o,         // [B,Tq,H,D]
        ArrayView<float> delta,     // [B,H,Tq], overwritten
        int rows, int tq, int heads, int d)
    {
        int row = Grid.IdxX * DeltaRowsPerGroup + Warp.WarpIdx, lane = Warp.LaneIdx;
        float sum = 0f;
        if (row < rows) // the whole warp
            for (int c = lane; c < d; c += 32) sum += dO[(long)row * d + c] * o[(long)row * d + c];
        sum = WarpSum(sum);
        // row = (batch * Tq + i) * H + h
        int h = row % heads, bt = row / heads;
        if (row < rows && Warp.IsFirstLane) delta[((long)(bt / tq) * heads + h) * tq + bt % tq] = sum;
    }

    // x: dO, q: [B,Tq,H,D], k, v: [B,Tk,KV,D], lse, delta: [B,H,Tq] -> dq: [B,Tq,H,D];
    // grid: (ceil(Tq / 4W), H, B), group: 32 W; dynamic shared: (8W D + 32 (D+1)) floats
    public static void BackwardDq(
        AttentionBackwardInputs x,
        ArrayView<float> dq,        // [B,Tq,H,D], overwritten
        AttentionGeometry g, KernelMask mask, SpecializedValue<int> headDimBucket)
    {
        int chunks = headDimBucket.Value / 32, d = g.HeadDim, stride = d + 1;
        int rows = Group.DimX / 32 * RowsPerWarp;
        int b = Grid.IdxZ, h = Grid.IdxY, q0 = Grid.IdxX * rows;
        int kvh = h / (g.Heads / g.KvHeads), lane = Warp.LaneIdx, first = Warp.WarpIdx * RowsPerWarp;
        long qBase = g.QueryBase(b, h), kBase = g.KeyBase(b, kvh), idsRow = (long)b * g.KeyLength;
        var owned = StageOwnedRows(x.Q, x.DO, qBase, g.QueryRowStride, q0, rows, g.QueryLength, d);
        ArrayView<float> qShared = owned.First, doShared = owned.Second; // [rows][d] each
        var kvShared = owned.Tile;                                        // [32][d+1]: the key tile's V, then its K
        var dsShared = SharedMemory.Allocate<float>(MaxRowsPerGroup * KeyTile); // [rows][32]: each row's dS_j
        var segShared = SharedMemory.Allocate<int>(KeyTile);
        var seqShared = SharedMemory.Allocate<int>(KeyTile);

        var r0 = StartDq(q0 + first, b, h, g, x.Lse, x.Delta, x.Segments, x.Sequences, mask);
        var r1 = StartDq(q0 + first + 1, b, h, g, x.Lse, x.Delta, x.Segments, x.Sequences, mask);
        var r2 = StartDq(q0 + first + 2, b, h, g, x.Lse, x.Delta, x.Segments, x.Sequences, mask);
        var r3 = StartDq(q0 + first + 3, b, h, g, x.Lse, x.Delta, x.Segments, x.Sequences, mask);

        var keys = AttentionMaskKernels.VisibleKeys(q0, Math.Min(q0 + rows, g.QueryLength) - 1, g.QueryOffset, mask);
        for (int k0 = keys.Begin; k0 < keys.End; k0 += KeyTile)
        {
            Group.Barrier(); // the previous tile's K is consumed (first time: qShared and doShared are written)
            StageTile(kvShared, stride, x.V, kBase, g.KeyRowStride, k0, KeyTile, g.KeyLength, d);
            AttentionMaskKernels.StageMaskIds(segShared, seqShared, x.Segments, x.Sequences, idsRow, k0, g.KeyLength, KeyTile, mask);
            Group.Barrier();
            int j = k0 + lane, sj = segShared[lane], nj = seqShared[lane];
            r0 = DpDq(r0, first, doShared, kvShared, j, sj, nj, d, mask);
            r1 = DpDq(r1, first + 1, doShared, kvShared, j, sj, nj, d, mask);
            r2 = DpDq(r2, first + 2, doShared, kvShared, j, sj, nj, d, mask);
            r3 = DpDq(r3, first + 3, doShared, kvShared, j, sj, nj, d, mask);
            Group.Barrier(); // dP is taken: V may be overwritten
            StageTile(kvShared, stride, x.K, kBase, g.KeyRowStride, k0, KeyTile, g.KeyLength, d);
            Group.Barrier();
            DsDq(r0, first, qShared, kvShared, dsShared, g);
            DsDq(r1, first + 1, qShared, kvShared, dsShared, g);
            DsDq(r2, first + 2, qShared, kvShared, dsShared, g);
            DsDq(r3, first + 3, qShared, kvShared, dsShared, g);
            Warp.Barrier(); // the warp's dS rows are in dsShared
            r0 = AccumulateDq(r0, first, dsShared, kvShared, d, chunks);
            r1 = AccumulateDq(r1, first + 1, dsShared, kvShared, d, chunks);
            r2 = AccumulateDq(r2, first + 2, dsShared, kvShared, d, chunks);
            r3 = AccumulateDq(r3, first + 3, dsShared, kvShared, d, chunks);
        }

        FinishDq(r0, q0 + first, b, h, dq, g, chunks);
        FinishDq(r1, q0 + first + 1, b, h, dq, g, chunks);
        FinishDq(r2, q0 + first + 2, b, h, dq, g, chunks);
        FinishDq(r3, q0 + first + 3, b, h, dq, g, chunks);
    }

    static DqRow StartDq(int i, int b, int h, AttentionGeometry g, ArrayView<float> lse, ArrayView<float> delta,
        ArrayView<int> segments, ArrayView<int> sequences, KernelMask mask)
    {
        var row = new DqRow { At = QueryPosition.At(i, b, g, segments, sequences, mask) };
        long at = ((long)b * g.Heads + h) * g.QueryLength + i;
        row.Lse = row.At.InRange ? lse[at] : 0f;
        row.Delta = row.At.InRange ? delta[at] : 0f;
        return row;
    }

    // Whether the lane's key is visible to row `local`, and its dP = dO_i . v_j
    static DqRow DpDq(DqRow row, int local, ArrayView<float> doShared, ArrayView<float> vShared, int j, int sj, int nj, int d, KernelMask mask)
    {
        row.Visible = row.At.InRange && AttentionMaskKernels.KeyVisible(row.At.Key, j, row.At.Segment, sj, row.At.Sequence, nj, mask);
        row.Live = WarpAny(row.Visible);
        row.Dp = row.Visible ? Dot(doShared, local * d, vShared, Warp.LaneIdx * (d + 1), d) : 0f;
        return row;
    }

    // dS for the lane's key (scale folded in) into dsShared
    static void DsDq(DqRow row, int local, ArrayView<float> qShared, ArrayView<float> kShared, ArrayView<float> dsShared, AttentionGeometry g)
    {
        if (!row.Live) return;
        int d = g.HeadDim, lane = Warp.LaneIdx;
        float ds = 0f;
        if (row.Visible)
        {
            float p = XMath.Exp(Dot(qShared, local * d, kShared, lane * (d + 1), d) * g.Scale - row.Lse);
            ds = p * (row.Dp - row.Delta) * g.Scale;
        }
        dsShared[local * KeyTile + lane] = ds;
    }

    // dq += sum_j dS_j k_j over the tile
    static DqRow AccumulateDq(DqRow row, int local, ArrayView<float> dsShared, ArrayView<float> kShared, int d, int chunks)
    {
        if (row.Live) row.Acc = AddTile(row.Acc, dsShared, local * KeyTile, kShared, d, chunks);
        return row;
    }

    static void FinishDq(DqRow row, int i, int b, int h, ArrayView<float> dq, AttentionGeometry g, int chunks)
    {
        if (row.At.InRange)
            LaneRow.Store(row.Acc, 1f, dq, g.QueryBase(b, h) + (long)i * g.QueryRowStride, Warp.LaneIdx, g.HeadDim, chunks);
    }

    // x: dO, q: [B,Tq,H,D], k, v: [B,Tk,KV,D], lse, delta: [B,H,Tq] -> dk, dv: [B,Tk,KV,D];
    // grid: (ceil(Tk / 4W), KV, B), group: 32 W; dynamic shared: (8W D + 32 (D+1)) floats
    public static void BackwardDkDv(
        AttentionBackwardInputs x,
        ArrayView<float> dk,        // [B,Tk,KV,D], overwritten
        ArrayView<float> dv,        // [B,Tk,KV,D], overwritten
        AttentionGeometry g, KernelMask mask, SpecializedValue<int> headDimBucket)
    {
        int chunks = headDimBucket.Value / 32, d = g.HeadDim, stride = d + 1;
        int keyRows = Group.DimX / 32 * KeysPerWarp;
        int b = Grid.IdxZ, kvh = Grid.IdxY, k0 = Grid.IdxX * keyRows;
        int group = g.Heads / g.KvHeads, first = Warp.WarpIdx * KeysPerWarp;
        long kBase = g.KeyBase(b, kvh), idsRow = (long)b * g.KeyLength;
        var owned = StageOwnedRows(x.K, x.V, kBase, g.KeyRowStride, k0, keyRows, g.KeyLength, d);
        ArrayView<float> kShared = owned.First, vShared = owned.Second; // [keyRows][d] each
        var qdoShared = owned.Tile;                                      // [32][d+1]: the query tile's Q, dO, then Q
        var pShared = SharedMemory.Allocate<float>(MaxKeysPerGroup * QueryTile);  // [keys][32]: each key's P_i
        var dsShared = SharedMemory.Allocate<float>(MaxKeysPerGroup * QueryTile); // [keys][32]: each key's dS_i
        var lseShared = SharedMemory.Allocate<float>(QueryTile);
        var deltaShared = SharedMemory.Allocate<float>(QueryTile);
        var qSegShared = SharedMemory.Allocate<int>(QueryTile);
        var qSeqShared = SharedMemory.Allocate<int>(QueryTile);
        var kSegShared = SharedMemory.Allocate<int>(MaxKeysPerGroup);
        var kSeqShared = SharedMemory.Allocate<int>(MaxKeysPerGroup);
        AttentionMaskKernels.StageMaskIds(kSegShared, kSeqShared, x.Segments, x.Sequences, idsRow, k0, g.KeyLength, keyRows, mask);

        var c0 = StartKey(first, k0, g);
        var c1 = StartKey(first + 1, k0, g);
        var c2 = StartKey(first + 2, k0, g);
        var c3 = StartKey(first + 3, k0, g);

        // Query rows that can see a key of this tile: at or after its first key (causal), and with a window no
        // later than its last key + window - 1.
        int rowBegin = Math.Max(0, k0 - g.QueryOffset);
        int rowEnd = mask.Window > 0 ? Math.Min(g.QueryLength, k0 + keyRows - 1 + mask.Window - g.QueryOffset) : g.QueryLength;

        for (int h = kvh * group; h < (kvh + 1) * group; h++)
        {
            long qBase = g.QueryBase(b, h), statsRow = ((long)b * g.Heads + h) * g.QueryLength;
            for (int i0 = rowBegin; i0 < rowEnd; i0 += QueryTile)
            {
                Group.Barrier(); // the previous query tile is consumed (first time: kShared and vShared are written)
                StageTile(qdoShared, stride, x.Q, qBase, g.QueryRowStride, i0, QueryTile, g.QueryLength, d);
                int t = Group.IdxX;
                if (t < QueryTile)
                {
                    int i = i0 + t;
                    lseShared[t] = i < g.QueryLength ? x.Lse[statsRow + i] : 0f;
                    deltaShared[t] = i < g.QueryLength ? x.Delta[statsRow + i] : 0f;
                }
                AttentionMaskKernels.StageMaskIds(qSegShared, qSeqShared, x.Segments, x.Sequences, idsRow + g.QueryOffset, i0, g.QueryLength, QueryTile, mask);
                Group.Barrier();
                int lane = Warp.LaneIdx, qi = i0 + lane;
                bool laneInRange = qi < g.QueryLength;
                int si = qSegShared[lane], ni = qSeqShared[lane];
                float rowLse = lseShared[lane], rowDelta = deltaShared[lane];
                c0 = ProbabilityDkDv(c0, qdoShared, kShared, pShared, laneInRange, g.QueryOffset + qi, si, ni, kSegShared, kSeqShared, rowLse, g, mask);
                c1 = ProbabilityDkDv(c1, qdoShared, kShared, pShared, laneInRange, g.QueryOffset + qi, si, ni, kSegShared, kSeqShared, rowLse, g, mask);
                c2 = ProbabilityDkDv(c2, qdoShared, kShared, pShared, laneInRange, g.QueryOffset + qi, si, ni, kSegShared, kSeqShared, rowLse, g, mask);
                c3 = ProbabilityDkDv(c3, qdoShared, kShared, pShared, laneInRange, g.QueryOffset + qi, si, ni, kSegShared, kSeqShared, rowLse, g, mask);
                Group.Barrier(); // P is in pShared: Q may be overwritten by dO
                StageTile(qdoShared, stride, x.DO, qBase, g.QueryRowStride, i0, QueryTile, g.QueryLength, d);
                Group.Barrier();
                c0 = AccumulateDv(c0, qdoShared, vShared, pShared, dsShared, rowDelta, g, chunks);
                c1 = AccumulateDv(c1, qdoShared, vShared, pShared, dsShared, rowDelta, g, chunks);
                c2 = AccumulateDv(c2, qdoShared, vShared, pShared, dsShared, rowDelta, g, chunks);
                c3 = AccumulateDv(c3, qdoShared, vShared, pShared, dsShared, rowDelta, g, chunks);
                Group.Barrier(); // dO is consumed and dS is in dsShared: Q comes back for dK
                StageTile(qdoShared, stride, x.Q, qBase, g.QueryRowStride, i0, QueryTile, g.QueryLength, d);
                Group.Barrier();
                c0 = AccumulateDk(c0, qdoShared, dsShared, d, chunks);
                c1 = AccumulateDk(c1, qdoShared, dsShared, d, chunks);
                c2 = AccumulateDk(c2, qdoShared, dsShared, d, chunks);
                c3 = AccumulateDk(c3, qdoShared, dsShared, d, chunks);
            }
        }

        FinishKey(c0, b, kvh, dk, dv, g, chunks);
        FinishKey(c1, b, kvh, dk, dv, g, chunks);
        FinishKey(c2, b, kvh, dk, dv, g, chunks);
        FinishKey(c3, b, kvh, dk, dv, g, chunks);
    }

    static KeyColumn StartKey(int local, int k0, AttentionGeometry g) =>
        new() { Local = local, Key = k0 + local, InRange = k0 + local < g.KeyLength };

    // Whether the lane's query sees this key, and its P = exp(scale q_i.k_j - lse_i), also into pShared
    static KeyColumn ProbabilityDkDv(KeyColumn key, ArrayView<float> qShared, ArrayView<float> kShared, ArrayView<float> pShared,
        bool laneInRange, int qi, int si, int ni,
        ArrayView<int> kSegShared, ArrayView<int> kSeqShared, float rowLse, AttentionGeometry g, KernelMask mask)
    {
        key.Live = false;
        if (!key.InRange) return key; // whole warp
        int d = g.HeadDim;
        key.Visible = laneInRange && AttentionMaskKernels.KeyVisible(qi, key.Key, si, kSegShared[key.Local], ni, kSeqShared[key.Local], mask);
        key.Live = WarpAny(key.Visible);
        key.P = key.Visible ? XMath.Exp(Dot(qShared, Warp.LaneIdx * (d + 1), kShared, key.Local * d, d) * g.Scale - rowLse) : 0f;
        pShared[key.Local * QueryTile + Warp.LaneIdx] = key.P;
        return key;
    }

    // dS = P (dO_i . v_j - delta_i) scale for the lane's query into dsShared, then dv += sum_i P_i dO_i over the tile
    static KeyColumn AccumulateDv(KeyColumn key, ArrayView<float> doShared, ArrayView<float> vShared, ArrayView<float> pShared, ArrayView<float> dsShared,
        float rowDelta, AttentionGeometry g, int chunks)
    {
        if (!key.Live) return key;
        int d = g.HeadDim, lane = Warp.LaneIdx;
        dsShared[key.Local * QueryTile + lane] = key.Visible ? key.P * (Dot(doShared, lane * (d + 1), vShared, key.Local * d, d) - rowDelta) * g.Scale : 0f;
        key.Dv = AddTile(key.Dv, pShared, key.Local * QueryTile, doShared, d, chunks);
        return key;
    }

    // dk += sum_i dS_i q_i over the tile
    static KeyColumn AccumulateDk(KeyColumn key, ArrayView<float> qShared, ArrayView<float> dsShared, int d, int chunks)
    {
        if (key.Live) key.Dk = AddTile(key.Dk, dsShared, key.Local * QueryTile, qShared, d, chunks);
        return key;
    }

    static void FinishKey(KeyColumn key, int b, int kvh, ArrayView<float> dk, ArrayView<float> dv, AttentionGeometry g, int chunks)
    {
        if (!key.InRange) return;
        long at = g.KeyBase(b, kvh) + (long)key.Key * g.KeyRowStride;
        LaneRow.Store(key.Dk, 1f, dk, at, Warp.LaneIdx, g.HeadDim, chunks);
        LaneRow.Store(key.Dv, 1f, dv, at, Warp.LaneIdx, g.HeadDim, chunks);
    }

    // Carves a backward kernel's dynamic shared memory (OwnedRows) and stages rows first..first+count-1 of a and b
    // (row x at srcBase + x * srcStride, zero from `limit` on) into First and Second; the caller's first barrier publishes them.
    static OwnedRows StageOwnedRows(ArrayView<float> a, ArrayView<float> b, long srcBase, int srcStride, int first, int count, int limit, int d)
    {
        var shared = SharedMemory.GetDynamic<float>();
        var owned = new OwnedRows
        {
            First = shared.SubView(0, count * d),
            Second = shared.SubView(count * d, count * d),
            Tile = shared.SubView(2 * count * d, 32 * (d + 1)), // KeyTile or QueryTile rows: 32 either way, one per lane
        };
        StageTile(owned.First, d, a, srcBase, srcStride, first, count, limit, d);
        StageTile(owned.Second, d, b, srcBase, srcStride, first, count, limit, d);
        return owned;
    }

    // Rows first..first+count-1 of a [*, d] operand (row x at srcBase + x * srcStride) into shared rows of `stride`
    // floats, the whole group striding over it; rows from `limit` on are zero.
    static void StageTile(ArrayView<float> dst, int stride, ArrayView<float> src, long srcBase, int srcStride, int first, int count, int limit, int d)
    {
        for (int idx = Group.IdxX; idx < count * d; idx += Group.DimX)
        {
            int r = idx / d, c = idx - r * d, x = first + r;
            dst[r * stride + c] = x < limit ? src[srcBase + (long)x * srcStride + c] : 0f;
        }
    }

    // acc += sum_t coefficients[at + t] * tile row t, over the 32 rows of a [32][d+1] tile; every lane reads the
    // same coefficient (a shared-memory broadcast) and its own dims of the row
    static LaneRow AddTile(LaneRow acc, ArrayView<float> coefficients, int at, ArrayView<float> tile, int d, int chunks)
    {
        int lane = Warp.LaneIdx;
        for (int t = 0; t < 32; t++)
            acc = LaneRow.AddScaled(acc, coefficients[at + t], tile, t * (d + 1), lane, d, chunks);
        return acc;
    }

    static float Dot(ArrayView<float> a, int aAt, ArrayView<float> b, int bAt, int d)
    {
        float dot = 0f;
        for (int c = 0; c < d; c++) dot += a[aAt + c] * b[bAt + c];
        return dot;
    }

    // Butterfly reductions: every lane ends with the result; unrolled by hand.
    static float WarpSum(float x)
    {
        x += Warp.ShuffleXor(x, 16); x += Warp.ShuffleXor(x, 8); x += Warp.ShuffleXor(x, 4);
        x += Warp.ShuffleXor(x, 2); return x + Warp.ShuffleXor(x, 1);
    }

    static float WarpMax(float x)
    {
        x = XMath.Max(x, Warp.ShuffleXor(x, 16)); x = XMath.Max(x, Warp.ShuffleXor(x, 8)); x = XMath.Max(x, Warp.ShuffleXor(x, 4));
        x = XMath.Max(x, Warp.ShuffleXor(x, 2)); return XMath.Max(x, Warp.ShuffleXor(x, 1));
    }

    static bool WarpAny(bool p)
    {
        int x = p ? 1 : 0;
        x |= Warp.ShuffleXor(x, 16); x |= Warp.ShuffleXor(x, 8); x |= Warp.ShuffleXor(x, 4);
        x |= Warp.ShuffleXor(x, 2); x |= Warp.ShuffleXor(x, 1);
        return x != 0;
    }
}
