// Flash attention on the CPU: fused, tiled, SIMD, multithreaded; fp32 throughout.
//
// Forward. One work item is (batch, head, block of QueryTile query rows). It walks the key axis in tiles
// of KeyTile keys and keeps, per query, a running max m, a running sum l of exp(s - m) and an
// unnormalized output accumulator acc[D]. For each key tile:
//   S^T = scale * K_tile Q_blk^T                  (keys x QueryTile scores, the only score storage)
//   masked entries -> -inf
//   m' = max(m, colmax S^T); P^T = exp(S^T - m'); l = l exp(m - m') + colsum P^T; acc = acc exp(m - m') + P V_tile
// and at the end O = acc / l, lse = m + log l. So scores, softmax and the P V product are fused: the
// T x T score matrix never exists, memory traffic is O(T D) per head and the tile stays in L1/L2.
// The tile is held transposed, one column per query, for two reasons. The score kernel then reads K's rows
// where they lie (broadcasting K elements against the block's queries, transposed once per work item into
// [D, QueryTile]), so K is never transposed as a whole. And the online softmax runs down the columns with
// the 32 queries as vector lanes: max, exp, sums and rescale factors are plain vector operations with no
// horizontal reduction and no per-row loop, and exp is SoftmaxExp (Vector512). The accumulator is held
// transposed too, acc^T: [D, QueryTile], so the rescale is a vector multiply per row of it, P V is the score
// kernel once more (acc^T += V_tile^T P^T, V's elements broadcast), and O is acc^T / l transposed back
// once at the end of the work item. Keys past the diagonal of the block's first 16 queries are left out of
// those 16 columns in both products (the mask sets their scores to -inf). The mask too is evaluated
// eight queries per vector against one key (MaskColumns). Items are handed out from one counter, head by
// head (a head's K and V stay in cache across its blocks) and within a head last query block first: under
// the causal mask a block's cost grows with its position, so the cheap ones fill the gaps at the end.
// Key tiles that no query of the block can see are never touched: causal stops at the last query's
// diagonal, a sliding window starts at FirstKey of the first query, and for the demonstration mask a
// tile is skipped when its segments cannot meet the block's (see SegmentsDisjoint).
//
// Backward (FlashAttention-2). With delta_i = rowsum(dO_i * O_i) and the saved lse, each tile's
// P = exp(S - lse) is recomputed from Q and K, dP = dO V^T, dS = P (dP - delta), and then
// dV += P^T dO, dK += scale dS^T Q, dQ += scale dS K, all from the one tile. The loop is key-tile major:
// a work item owns key tiles of one (batch, kv head), so it alone writes their dK/dV rows, summing over
// the group's query heads (GQA) and the query blocks that see the tile. dQ gets a contribution from
// every key tile; the tiles of a (batch, kv head) are split round-robin into Lanes work items (more
// than one only when B*KV alone would leave threads idle), each lane sums dQ into its own buffer, and
// the lanes are added in order at the end. No atomics, no races, and the same sums in the same order
// on every run. Its tiles are row-major (query x key): K and V are first transposed per (batch, kv head)
// into [D, Tk padded to KeyTile], 8 x 8 blocks at a time through registers, so the score kernel
// multiplies each query element into 32 consecutive keys. Padded keys lie beyond every query's diagonal,
// so the causal mask zeroes them.
//
// Kernels. One score kernel (8 rows x 32 columns of Vector512 accumulators where the hardware has them,
// else 4 rows x 32 of Vector256) serves S^T = K Q^T and acc^T += V^T P^T in the forward and S = Q K^T,
// dP = dO V^T in the backward. The backward's other products (dS K, P^T dO, dS^T Q) share one kernel that
// adds coefficient-weighted rows of a D-wide operand into 8 (or 4) output rows at a time.

using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DrICL.Kernels.Cpu;

public static unsafe partial class FlashAttention
{
    const int QueryTile = 32;   // query rows per work item
    const int KeyTile = 64;     // keys per tile; the backward's transposed K/V are padded to a multiple of it
    const int KeyChunk = 32;    // columns per register block of the score kernel (2 x Vector512 or 4 x Vector256)
    const int HalfTile = 16;    // the score kernel's narrowest width: half a query block
    const int BackwardWorkItems = 16;

    // q: [B,Tq,H,D], k, v: [B,Tk,KV,D] -> o: [B,Tq,H,D], lse: [B,H,Tq]
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o, Span<float> lse, AttentionShape s, AttentionMask mask)
    {
        CheckSizes(s, mask, q.Length, k.Length, v.Length, o.Length, lse.Length);
        var problem = new Problem(s, mask);
        fixed (float* pq = q, pk = k, pv = v, po = o, plse = lse)
        {
            problem.Q = pq; problem.K = pk; problem.V = pv; problem.O = po; problem.Lse = plse;
            // Every thread pulls the next item from one counter, in ForwardBlock's order.
            int items = s.Batch * s.Heads * problem.QueryBlocks, next = -1;
            Parallel.For(0, Math.Min(Environment.ProcessorCount, items), _ =>
            {
                var w = Scratch.ForThread(s.HeadDim);
                for (int item; (item = Interlocked.Increment(ref next)) < items;) problem.ForwardBlock(item, w);
            });
        }
    }

    // dO: [B,Tq,H,D] -> dq: [B,Tq,H,D], dk, dv: [B,Tk,KV,D] (all overwritten).
    public static void Backward(ReadOnlySpan<float> dO, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> o, ReadOnlySpan<float> lse,
        Span<float> dq, Span<float> dk, Span<float> dv, AttentionShape s, AttentionMask mask)
    {
        CheckSizes(s, mask, q.Length, k.Length, v.Length, o.Length, lse.Length);
        Require(dO.Length, q.Length, nameof(dO)); Require(dq.Length, q.Length, nameof(dq));
        Require(dk.Length, k.Length, nameof(dk)); Require(dv.Length, v.Length, nameof(dv));
        var problem = new Problem(s, mask);
        var kt = ArrayPool<float>.Shared.Rent(problem.TransposedLength);
        var vt = ArrayPool<float>.Shared.Rent(problem.TransposedLength);
        var delta = ArrayPool<float>.Shared.Rent(lse.Length);
        var dqLanes = ArrayPool<float>.Shared.Rent((problem.Lanes - 1) * q.Length);
        try
        {
            fixed (float* pdo = dO, pq = q, pk = k, pv = v, po = o, plse = lse, pdq = dq, pdk = dk, pdv = dv, pkt = kt, pvt = vt, pdelta = delta, planes = dqLanes)
            {
                problem.DO = pdo; problem.Q = pq; problem.K = pk; problem.V = pv; problem.O = po; problem.Lse = plse;
                problem.DQ = pdq; problem.DK = pdk; problem.DV = pdv; problem.KT = pkt; problem.VT = pvt; problem.Delta = pdelta; problem.DQLanes = planes;
                problem.Transpose(pk, pkt);
                problem.Transpose(pv, pvt);
                problem.RowDeltas();
                Parallel.For(0, s.Batch * s.KvHeads * problem.Lanes, item => problem.BackwardLane(item, Scratch.ForThread(s.HeadDim)));
            }
            for (int lane = 1; lane < problem.Lanes; lane++)
                TensorPrimitives.Add(dq, dqLanes.AsSpan((lane - 1) * q.Length, q.Length), dq);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(kt);
            ArrayPool<float>.Shared.Return(vt);
            ArrayPool<float>.Shared.Return(delta);
            ArrayPool<float>.Shared.Return(dqLanes);
        }
    }

    static void CheckSizes(AttentionShape s, AttentionMask mask, int q, int k, int v, int o, int lse)
    {
        s.Validate();
        Require(q, (long)s.Batch * s.QueryLength * s.Heads * s.HeadDim, nameof(q));
        Require(k, (long)s.Batch * s.KeyLength * s.KvHeads * s.HeadDim, nameof(k));
        Require(v, k, nameof(v));
        Require(o, q, nameof(o));
        Require(lse, (long)s.Batch * s.Heads * s.QueryLength, nameof(lse));
        if (mask.SegmentIds is { } seg && seg.Length != s.Batch * s.KeyLength)
            throw new ArgumentException($"segment ids hold {seg.Length} entries, [B,Tk] needs {s.Batch * s.KeyLength}");
        if (mask.SequenceIds is { } ids && ids.Length != s.Batch * s.KeyLength)
            throw new ArgumentException($"sequence ids hold {ids.Length} entries, [B,Tk] needs {s.Batch * s.KeyLength}");
    }

    static void Require(int actual, long expected, string name)
    {
        if (actual != expected) throw new ArgumentException($"attention buffer {name} holds {actual} floats, the shape needs {expected}");
    }

    /// <summary>
    /// Per-thread tiles: scores/probabilities, score gradients, and the forward's transposed query block and
    /// running row state. Kept
    /// per thread and reused across calls, so steady-state training allocates nothing here.
    /// </summary>
    sealed class Scratch
    {
        [ThreadStatic] static Scratch? cached;

        readonly int headDim;
        readonly float[] scores = GC.AllocateUninitializedArray<float>(QueryTile * KeyTile, pinned: true);
        readonly float[] grads = GC.AllocateUninitializedArray<float>(QueryTile * KeyTile, pinned: true);
        readonly float[] acc, queries, max = GC.AllocateUninitializedArray<float>(QueryTile, pinned: true), sum = GC.AllocateUninitializedArray<float>(QueryTile, pinned: true);
        readonly float[] inverseSum = GC.AllocateUninitializedArray<float>(QueryTile, pinned: true);

        Scratch(int headDim)
        {
            this.headDim = headDim;
            acc = GC.AllocateUninitializedArray<float>(QueryTile * headDim, pinned: true);
            queries = GC.AllocateUninitializedArray<float>(headDim * QueryTile, pinned: true);
        }

        public static Scratch ForThread(int headDim) => cached is { } c && c.headDim >= headDim ? c : cached = new Scratch(headDim);

        // The arrays live on the pinned object heap, so these addresses stay valid while the Scratch lives.
        public float* Scores => Pinned.Address(scores);
        public float* Grads => Pinned.Address(grads);
        public float* Acc => Pinned.Address(acc);
        public float* Queries => Pinned.Address(queries);
        public float* Max => Pinned.Address(max);
        public float* Sum => Pinned.Address(sum);
        public float* InverseSum => Pinned.Address(inverseSum);
    }

    /// <summary>One attention call: shape, mask, pinned operands, and the per-work-item tile loops.</summary>
    sealed class Problem
    {
        public float* Q, K, V, O, Lse, KT, VT, DO, DQ, DK, DV, Delta, DQLanes;

        readonly AttentionShape s;
        readonly AttentionMask mask;
        readonly int d, keyPad, transposedStride;
        readonly int queryStride, keyStride;   // floats between consecutive positions of one query / kv head
        readonly float scale;

        public Problem(AttentionShape shape, AttentionMask mask)
        {
            s = shape;
            this.mask = mask;
            d = shape.HeadDim;
            keyPad = RoundUp(shape.KeyLength, KeyTile);
            // One cache line more than keyPad: a power-of-two stride would put the score kernel's D rows of one
            // key chunk into a few L1 sets, which then evict each other.
            transposedStride = keyPad + 16;
            queryStride = shape.Heads * d;
            keyStride = shape.KvHeads * d;
            scale = shape.Scale;
        }

        public int QueryBlocks => (s.QueryLength + QueryTile - 1) / QueryTile;
        public int KeyBlocks => keyPad / KeyTile;
        // Backward lanes per (batch, kv head): enough work items to keep a thread pool busy when B*KV is small.
        // It depends on the shape only, so the summation order, and hence the result, is the same on any machine.
        public int Lanes => Math.Clamp(BackwardWorkItems / (s.Batch * s.KvHeads), 1, KeyBlocks);
        public int TransposedLength => s.Batch * s.KvHeads * d * transposedStride;

        float* QueryRow(float* x, int b, int i, int h) => x + ((long)(b * s.QueryLength + i) * s.Heads + h) * d;
        float* KeyRow(float* x, int b, int j, int kvh) => x + ((long)(b * s.KeyLength + j) * s.KvHeads + kvh) * d;
        float* Transposed(float* xt, int b, int kvh) => xt + (long)(b * s.KvHeads + kvh) * d * transposedStride;
        int RowStat(int b, int h, int i) => (b * s.Heads + h) * s.QueryLength + i;

        /// <summary>x: [B,Tk,KV,D] -> xt: [B,KV,D,transposedStride], zero-padded from Tk to keyPad.</summary>
        public void Transpose(float* x, float* xt)
        {
            float* src0 = x, dst0 = xt;
            Parallel.For(0, s.Batch * s.KvHeads, bk =>
            {
                int b = bk / s.KvHeads, kvh = bk % s.KvHeads;
                float* dst = Transposed(dst0, b, kvh);
                TransposeRows(KeyRow(src0, b, 0, kvh), keyStride, s.KeyLength, dst, transposedStride, d);
                for (int c = 0; c < d; c++) new Span<float>(dst + (long)c * transposedStride + s.KeyLength, keyPad - s.KeyLength).Clear();
            });
        }

        /// <summary>delta[b,h,i] = dO[b,i,h,:] . O[b,i,h,:], the softmax backward's row correction.</summary>
        public void RowDeltas()
        {
            for (int b = 0; b < s.Batch; b++)
                for (int i = 0; i < s.QueryLength; i++)
                    for (int h = 0; h < s.Heads; h++)
                        Delta[RowStat(b, h, i)] = TensorPrimitives.Dot(new ReadOnlySpan<float>(QueryRow(DO, b, i, h), d), new ReadOnlySpan<float>(QueryRow(O, b, i, h), d));
        }

        public void ForwardBlock(int item, Scratch w)
        {
            // Items run head by head, so a head's K and V stay in cache across its blocks, and within a head last
            // query block first: under the causal mask later blocks see more key tiles.
            int bh = item / QueryBlocks, b = bh / s.Heads, h = bh % s.Heads;
            int i0 = (QueryBlocks - 1 - item % QueryBlocks) * QueryTile;
            int rows = Math.Min(QueryTile, s.QueryLength - i0), kvh = h / s.Group;
            float* scores = w.Scores, qt = w.Queries, acc = w.Acc, max = w.Max, sum = w.Sum;
            // acc: [D, QueryTile], the output accumulator transposed like the score tile.
            // qt: [D, QueryTile], the block's queries as columns; missing rows of a last block are zeros, so
            // their (unused) columns of the score tile stay finite.
            TransposeRows(QueryRow(Q, b, i0, h), queryStride, rows, qt, QueryTile, d);
            for (int c = 0; c < d; c++) new Span<float>(qt + c * QueryTile + rows, QueryTile - rows).Clear();
            new Span<float>(acc, d * QueryTile).Clear();
            new Span<float>(max, QueryTile).Fill(float.NegativeInfinity);
            new Span<float>(sum, QueryTile).Clear();

            int first = mask.FirstKey(s.QueryOffset + i0), last = s.QueryOffset + i0 + rows - 1;
            for (int j0 = first / KeyTile * KeyTile; j0 <= last; j0 += KeyTile)
            {
                int valid = Math.Min(KeyTile, last + 1 - j0);
                if (SegmentsDisjoint(b, i0, rows, j0, valid)) continue;
                // Keys from split on lie past the diagonal of the block's first half of queries, so both products
                // leave those columns out there; the mask sets them to -inf, which P turns into 0.
                int split = Math.Clamp(s.QueryOffset + i0 + HalfTile - j0, 0, valid);
                // scores: [valid keys, QueryTile], S^T = scale K_tile Q_blk^T straight from K's rows.
                Scores(KeyRow(K, b, j0, kvh), keyStride, 1, qt, QueryTile, scores, QueryTile, split, QueryTile, d, scale);
                Scores(KeyRow(K, b, j0 + split, kvh), keyStride, 1, qt + HalfTile, QueryTile, scores + split * QueryTile + HalfTile, QueryTile, valid - split, HalfTile, d, scale);
                MaskColumns(scores, b, i0, j0, valid);
                OnlineSoftmaxColumns(scores, valid, max, sum, acc, d);
                // acc^T += V_tile^T P^T: the score kernel again, V's elements broadcast down its rows.
                Scores(KeyRow(V, b, j0, kvh), 1, keyStride, scores, QueryTile, acc, QueryTile, d, QueryTile, split, 1f, accumulate: true);
                Scores(KeyRow(V, b, j0 + split, kvh), 1, keyStride, scores + split * QueryTile + HalfTile, QueryTile, acc + HalfTile, QueryTile, d, HalfTile, valid - split, 1f, accumulate: true);
            }

            for (int q = 0; q < QueryTile; q++) w.InverseSum[q] = 1f / sum[q];
            ScaleColumns(acc, d, w.InverseSum);
            TransposeRows(acc, QueryTile, d, QueryRow(O, b, i0, h), queryStride, rows);
            for (int r = 0; r < rows; r++) Lse[RowStat(b, h, i0 + r)] = max[r] + MathF.Log(sum[r]);
        }

        /// <summary>
        /// One backward work item: key tiles lane, lane + Lanes, ... of one (batch, kv head), over the group's
        /// query heads. It owns those tiles' dK and dV rows and the group's dQ rows in its lane's dQ buffer.
        /// </summary>
        public void BackwardLane(int item, Scratch w)
        {
            int lane = item % Lanes, b = item / Lanes / s.KvHeads, kvh = item / Lanes % s.KvHeads;
            float* dq = lane == 0 ? DQ : DQLanes + (long)(lane - 1) * s.Batch * s.QueryLength * queryStride;
            for (int i = 0; i < s.QueryLength; i++) new Span<float>(QueryRow(dq, b, i, kvh * s.Group), s.Group * d).Clear();
            for (int kb = lane; kb < KeyBlocks; kb += Lanes) KeyTileGradients(b, kvh, kb * KeyTile, dq, w);
        }

        void KeyTileGradients(int b, int kvh, int j0, float* dqLane, Scratch w)
        {
            int valid = Math.Min(KeyTile, s.KeyLength - j0), width = RoundUp(valid, KeyChunk);
            float* k = KeyRow(K, b, j0, kvh), dk = KeyRow(DK, b, j0, kvh), dv = KeyRow(DV, b, j0, kvh);
            for (int x = 0; x < valid; x++)
            {
                new Span<float>(dk + x * keyStride, d).Clear();
                new Span<float>(dv + x * keyStride, d).Clear();
            }

            // Queries that see a key of this tile: causal from j0 on, and within the window of its last key.
            int firstQuery = Math.Max(0, j0 - s.QueryOffset);
            int lastQuery = mask.Window > 0 ? Math.Min(s.QueryLength - 1, j0 + valid - 1 + mask.Window - 1 - s.QueryOffset) : s.QueryLength - 1;
            for (int h = kvh * s.Group; h < (kvh + 1) * s.Group; h++)
                for (int i0 = firstQuery / QueryTile * QueryTile; i0 <= lastQuery; i0 += QueryTile)
                {
                    int rows = Math.Min(QueryTile, s.QueryLength - i0);
                    if (SegmentsDisjoint(b, i0, rows, j0, valid)) continue;
                    TileGradients(b, h, kvh, i0, rows, j0, width, w.Scores, w.Grads);
                    AccumulateRows(w.Scores, 1, KeyTile, valid, rows, QueryRow(DO, b, i0, h), queryStride, dv, keyStride, d);
                    AccumulateRows(w.Grads, 1, KeyTile, valid, rows, QueryRow(Q, b, i0, h), queryStride, dk, keyStride, d);
                    AccumulateRows(w.Grads, KeyTile, 1, rows, valid, k, keyStride, QueryRow(dqLane, b, i0, h), queryStride, d);
                }
        }

        // p = exp(S - lse) and ds = scale * p * (dO V^T - delta) for one tile; the scale is folded into ds
        // because both dQ and dK need it.
        void TileGradients(int b, int h, int kvh, int i0, int rows, int j0, int width, float* p, float* ds)
        {
            Scores(QueryRow(Q, b, i0, h), queryStride, 1, Transposed(KT, b, kvh) + j0, transposedStride, p, KeyTile, rows, width, d, scale);
            Mask(p, b, i0, rows, j0, width);
            Scores(QueryRow(DO, b, i0, h), queryStride, 1, Transposed(VT, b, kvh) + j0, transposedStride, ds, KeyTile, rows, width, d, 1f);
            var sc = Vector256.Create(scale);
            for (int r = 0; r < rows; r++)
            {
                var lse = Vector256.Create(Lse[RowStat(b, h, i0 + r)]);
                var delta = Vector256.Create(Delta[RowStat(b, h, i0 + r)]);
                float* pr = p + r * KeyTile, dsr = ds + r * KeyTile;
                for (int x = 0; x < width; x += Vector256<float>.Count)
                {
                    var pv = Vector256.Exp(Vector256.Load(pr + x) - lse);
                    pv.Store(pr + x);
                    (sc * pv * (Vector256.Load(dsr + x) - delta)).Store(dsr + x);
                }
            }
        }

        /// <summary>Sets the scores of keys the mask hides to -inf; a tile that is wholly visible is left alone.</summary>
        void Mask(float* scores, int b, int i0, int rows, int j0, int width)
        {
            int q0 = s.QueryOffset + i0, q1 = q0 + rows - 1;
            var seg = mask.SegmentIds;
            var ids = mask.SequenceIds;
            if (j0 + width - 1 <= q0 && j0 >= mask.FirstKey(q1) && seg is null && ids is null) return;
            for (int r = 0; r < rows; r++)
            {
                int qi = q0 + r;
                var row = new Span<float>(scores + r * KeyTile, width);
                int lo = Math.Clamp(mask.FirstKey(qi) - j0, 0, width), hi = Math.Clamp(qi + 1 - j0, 0, width);
                row[..lo].Fill(float.NegativeInfinity);
                row[hi..].Fill(float.NegativeInfinity);
                if (ids is not null)
                {
                    // Packed episodes: keys of another sequence in the same row are invisible.
                    int id = ids[b * s.KeyLength + qi];
                    for (int x = lo; x < hi; x++)
                        if (ids[b * s.KeyLength + j0 + x] != id) row[x] = float.NegativeInfinity;
                }
                if (seg is null) continue;
                // The demonstration rule of AttentionMask.IsVisible, with the query's segment hoisted out of the key loop.
                int sq = seg[b * s.KeyLength + qi];
                if (sq == 0) continue;
                bool seesPrefix = PrefixVisible(sq);
                for (int x = lo; x < hi; x++)
                {
                    int sk = seg[b * s.KeyLength + j0 + x];
                    if (sk != sq && !(sk == 0 && seesPrefix)) row[x] = float.NegativeInfinity;
                }
            }
        }

        /// <summary>
        /// Mask for the forward's transposed tile (scores: [keys, QueryTile], one column per query of the block at
        /// i0): the rule of AttentionMask.IsVisible evaluated for eight queries at once against one key, so a
        /// hidden score costs a lane of a blend rather than a scalar store. Columns past the block's rows get
        /// whatever the rule says for their (nonexistent) queries; nothing reads them.
        /// </summary>
        void MaskColumns(float* scores, int b, int i0, int j0, int keys)
        {
            int q0 = s.QueryOffset + i0, rows = Math.Min(QueryTile, s.QueryLength - i0), q1 = q0 + rows - 1;
            var seg = mask.SegmentIds;
            var ids = mask.SequenceIds;
            if (j0 + keys - 1 <= q0 && j0 >= mask.FirstKey(q1) && seg is null && ids is null) return;
            // Per query column: its segment, whether it sees prefix keys, and its sequence id (0 past the rows).
            int* querySeg = stackalloc int[QueryTile], seesPrefix = stackalloc int[QueryTile], querySeq = stackalloc int[QueryTile];
            for (int r = 0; r < QueryTile; r++)
            {
                int sq = seg is not null && r < rows ? seg[b * s.KeyLength + q0 + r] : 0;
                querySeg[r] = sq;
                seesPrefix[r] = sq == 0 || PrefixVisible(sq) ? -1 : 0;
                querySeq[r] = ids is not null && r < rows ? ids[b * s.KeyLength + q0 + r] : 0;
            }
            var negInf = Vector256.Create(float.NegativeInfinity);
            for (int x = 0; x < keys; x++)
            {
                int j = j0 + x;
                var key = Vector256.Create(j);
                int sk = seg is not null ? seg[b * s.KeyLength + j] : 0, idk = ids is not null ? ids[b * s.KeyLength + j] : 0;
                float* row = scores + x * QueryTile;
                for (int q = 0; q < QueryTile; q += 8)
                {
                    var query = Vector256.Create(q0 + q) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
                    var hidden = Vector256.GreaterThan(key, query);
                    if (mask.Window > 0) hidden |= Vector256.GreaterThanOrEqual(query - key, Vector256.Create(mask.Window));
                    if (ids is not null) hidden |= ~Vector256.Equals(Vector256.Load(querySeq + q), Vector256.Create(idk));
                    if (seg is not null)
                    {
                        // Hidden unless the query is a prefix query, the key is in its segment, or a prefix key it may see.
                        var sq = Vector256.Load(querySeg + q);
                        var sees = Vector256.Equals(sq, Vector256<int>.Zero) | Vector256.Equals(sq, Vector256.Create(sk));
                        if (sk == 0) sees |= Vector256.Load(seesPrefix + q);
                        hidden |= ~sees;
                    }
                    Vector256.ConditionalSelect(hidden.AsSingle(), negInf, Vector256.Load(row + q)).Store(row + q);
                }
            }
        }

        bool PrefixVisible(int segment) => mask.Prefix == PrefixVisibility.All || (mask.Prefix == PrefixVisibility.First && segment == 1);

        /// <summary>
        /// True when the segment mask hides all of keys j0..j0+valid-1 from query rows i0..i0+rows-1: no query
        /// is in the prefix, no key is a prefix key such a query may see, and the remaining key segments all
        /// fall outside the queries' segment range. Conservative: false means "maybe visible".
        /// </summary>
        bool SegmentsDisjoint(int b, int i0, int rows, int j0, int valid)
        {
            if (mask.SegmentIds is not { } seg) return false;
            int qMin = int.MaxValue, qMax = int.MinValue;
            for (int r = 0; r < rows; r++)
            {
                int sq = seg[b * s.KeyLength + s.QueryOffset + i0 + r];
                if (sq == 0) return false;
                qMin = Math.Min(qMin, sq); qMax = Math.Max(qMax, sq);
            }
            bool prefixSeen = mask.Prefix == PrefixVisibility.All || (mask.Prefix == PrefixVisibility.First && qMin <= 1 && 1 <= qMax);
            for (int x = 0; x < valid; x++)
            {
                int sk = seg[b * s.KeyLength + j0 + x];
                if (sk == 0 ? prefixSeen : sk >= qMin && sk <= qMax) return false;
            }
            return true;
        }
    }

    static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>
    /// One key tile's step of the online softmax for QueryTile queries at once. scores: [keys, QueryTile], one
    /// column per query, so the running max m, the sum l and the rescale factor of every query are lanes of a
    /// vector and no step needs a horizontal reduction: m' = max(m, column max), P = exp(S - m') in place,
    /// l = l exp(m - m') + column sum, and the columns of acc^T ([d, QueryTile]) are rescaled by exp(m - m'). A column
    /// that has seen no visible key keeps m = -inf and shifts by 0, so its masked scores still give P = 0.
    /// </summary>
    static void OnlineSoftmaxColumns(float* scores, int keys, float* max, float* sum, float* acc, int d)
    {
        if (Vector512.IsHardwareAccelerated)
            for (int q = 0; q < QueryTile; q += Vector512<float>.Count)
            {
                var old = Vector512.Load(max + q);
                var m = old;
                for (int x = 0; x < keys; x++) m = Vector512.MaxNative(m, Vector512.Load(scores + x * QueryTile + q));
                var shift = Vector512.ConditionalSelect(Vector512.Equals(m, Vector512.Create(float.NegativeInfinity)), Vector512<float>.Zero, m);
                var total = Vector512<float>.Zero;
                for (int x = 0; x < keys; x++)
                {
                    float* at = scores + x * QueryTile + q;
                    var e = SoftmaxExp.Of(Vector512.Load(at) - shift);
                    e.Store(at);
                    total += e;
                }
                var alpha = SoftmaxExp.Of(old - shift);
                (Vector512.Load(sum + q) * alpha + total).Store(sum + q);
                for (int c = 0; c < d; c++) (Vector512.Load(acc + c * QueryTile + q) * alpha).Store(acc + c * QueryTile + q);
                m.Store(max + q);
            }
        else
            for (int q = 0; q < QueryTile; q += Vector256<float>.Count)
            {
                var old = Vector256.Load(max + q);
                var m = old;
                for (int x = 0; x < keys; x++) m = Vector256.MaxNative(m, Vector256.Load(scores + x * QueryTile + q));
                var shift = Vector256.ConditionalSelect(Vector256.Equals(m, Vector256.Create(float.NegativeInfinity)), Vector256<float>.Zero, m);
                var total = Vector256<float>.Zero;
                for (int x = 0; x < keys; x++)
                {
                    float* at = scores + x * QueryTile + q;
                    var e = Vector256.Exp(Vector256.Load(at) - shift);
                    e.Store(at);
                    total += e;
                }
                var alpha = Vector256.Exp(old - shift);
                (Vector256.Load(sum + q) * alpha + total).Store(sum + q);
                for (int c = 0; c < d; c++) (Vector256.Load(acc + c * QueryTile + q) * alpha).Store(acc + c * QueryTile + q);
                m.Store(max + q);
            }
    }

    /// <summary>x[c, q] *= factor[q] for c &lt; rows of a [rows, QueryTile] tile.</summary>
    static void ScaleColumns(float* x, int rows, float* factor)
    {
        for (int q = 0; q < QueryTile; q += Vector256<float>.Count)
        {
            var f = Vector256.Load(factor + q);
            for (int c = 0; c < rows; c++) (Vector256.Load(x + c * QueryTile + q) * f).Store(x + c * QueryTile + q);
        }
    }

    /// <summary>dst[c * dstStride + j] = src[j * srcStride + c] for j &lt; n, c &lt; d; 8 x 8 blocks through registers.</summary>
    static void TransposeRows(float* src, int srcStride, int n, float* dst, int dstStride, int d)
    {
        int j = 0, blocked = Avx.IsSupported ? d / 8 * 8 : 0;
        for (; j + 8 <= n && blocked > 0; j += 8)
        {
            float* rows = src + (long)j * srcStride;
            for (int c = 0; c < blocked; c += 8) Gemm.Transpose8x8(rows + c, srcStride, dst + (long)c * dstStride + j, dstStride);
            for (int c = blocked; c < d; c++)
                for (int y = 0; y < 8; y++) dst[(long)c * dstStride + j + y] = rows[y * srcStride + c];
        }
        for (; j < n; j++)
            for (int c = 0; c < d; c++) dst[(long)c * dstStride + j] = src[(long)j * srcStride + c];
    }

    /// <summary>
    /// dst[r, x] = scale * sum_c a[r, c] * bt[c, x] for r &lt; rows, x &lt; width (a multiple of HalfTile), added to
    /// dst's values with accumulate; a[r, c] is a[r * aStride + c * aStep], bt rows are btStride apart, dst rows
    /// dstStride apart. Register blocks: 8 rows x 32 columns
    /// of Vector512 where the hardware has it, then 4 rows x 32 columns and single rows of Vector256.
    /// </summary>
    static void Scores(float* a, int aStride, int aStep, float* bt, int btStride, float* dst, int dstStride, int rows, int width, int d, float scale, bool accumulate = false)
    {
        int r = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; r + 8 <= rows; r += 8) ScoresEightRows(a + (long)r * aStride, aStride, aStep, bt, btStride, dst + r * dstStride, dstStride, width, d, scale, accumulate);
        ScoresNarrow(a + (long)r * aStride, aStride, aStep, bt, btStride, dst + r * dstStride, dstStride, rows - r, width, d, scale, accumulate);
    }

    // 16 Vector512 accumulators: 8 query rows x 32 keys; each step loads 32 keys of one bt row and broadcasts 8 a elements.
    static void ScoresEightRows(float* a, int aStride, int aStep, float* bt, int btStride, float* dst, int dstStride, int width, int d, float scale, bool accumulate)
    {
        var sc = Vector512.Create(scale);
        float* a0 = a, a1 = a0 + aStride, a2 = a1 + aStride, a3 = a2 + aStride, a4 = a3 + aStride, a5 = a4 + aStride, a6 = a5 + aStride, a7 = a6 + aStride;
        int x = 0;
        for (; x + KeyChunk <= width; x += KeyChunk)
        {
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
            Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
            float* col = bt + x;
            for (long c = 0, ac = 0; c < d; c++, col += btStride, ac += aStep)
            {
                var k0 = Vector512.Load(col); var k1 = Vector512.Load(col + 16);
                var q = Vector512.Create(a0[ac]); c00 = Vector512.FusedMultiplyAdd(q, k0, c00); c01 = Vector512.FusedMultiplyAdd(q, k1, c01);
                q = Vector512.Create(a1[ac]); c10 = Vector512.FusedMultiplyAdd(q, k0, c10); c11 = Vector512.FusedMultiplyAdd(q, k1, c11);
                q = Vector512.Create(a2[ac]); c20 = Vector512.FusedMultiplyAdd(q, k0, c20); c21 = Vector512.FusedMultiplyAdd(q, k1, c21);
                q = Vector512.Create(a3[ac]); c30 = Vector512.FusedMultiplyAdd(q, k0, c30); c31 = Vector512.FusedMultiplyAdd(q, k1, c31);
                q = Vector512.Create(a4[ac]); c40 = Vector512.FusedMultiplyAdd(q, k0, c40); c41 = Vector512.FusedMultiplyAdd(q, k1, c41);
                q = Vector512.Create(a5[ac]); c50 = Vector512.FusedMultiplyAdd(q, k0, c50); c51 = Vector512.FusedMultiplyAdd(q, k1, c51);
                q = Vector512.Create(a6[ac]); c60 = Vector512.FusedMultiplyAdd(q, k0, c60); c61 = Vector512.FusedMultiplyAdd(q, k1, c61);
                q = Vector512.Create(a7[ac]); c70 = Vector512.FusedMultiplyAdd(q, k0, c70); c71 = Vector512.FusedMultiplyAdd(q, k1, c71);
            }
            float* o = dst + x;
            Put(c00 * sc, o, accumulate); Put(c01 * sc, o + 16, accumulate); o += dstStride;
            Put(c10 * sc, o, accumulate); Put(c11 * sc, o + 16, accumulate); o += dstStride;
            Put(c20 * sc, o, accumulate); Put(c21 * sc, o + 16, accumulate); o += dstStride;
            Put(c30 * sc, o, accumulate); Put(c31 * sc, o + 16, accumulate); o += dstStride;
            Put(c40 * sc, o, accumulate); Put(c41 * sc, o + 16, accumulate); o += dstStride;
            Put(c50 * sc, o, accumulate); Put(c51 * sc, o + 16, accumulate); o += dstStride;
            Put(c60 * sc, o, accumulate); Put(c61 * sc, o + 16, accumulate); o += dstStride;
            Put(c70 * sc, o, accumulate); Put(c71 * sc, o + 16, accumulate);
        }
        if (x < width)
        {
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
            float* col = bt + x;
            for (long c = 0, ac = 0; c < d; c++, col += btStride, ac += aStep)
            {
                var k0 = Vector512.Load(col);
                c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[ac]), k0, c0); c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[ac]), k0, c1);
                c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[ac]), k0, c2); c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[ac]), k0, c3);
                c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a4[ac]), k0, c4); c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a5[ac]), k0, c5);
                c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a6[ac]), k0, c6); c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a7[ac]), k0, c7);
            }
            float* o = dst + x;
            Put(c0 * sc, o, accumulate); Put(c1 * sc, o + dstStride, accumulate); Put(c2 * sc, o + 2 * dstStride, accumulate); Put(c3 * sc, o + 3 * dstStride, accumulate);
            Put(c4 * sc, o + 4 * dstStride, accumulate); Put(c5 * sc, o + 5 * dstStride, accumulate); Put(c6 * sc, o + 6 * dstStride, accumulate); Put(c7 * sc, o + 7 * dstStride, accumulate);
        }
    }

    static void ScoresNarrow(float* a, int aStride, int aStep, float* bt, int btStride, float* dst, int dstStride, int rows, int width, int d, float scale, bool accumulate)
    {
        var sc = Vector256.Create(scale);
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            float* a0 = a + (long)r * aStride, a1 = a0 + aStride, a2 = a1 + aStride, a3 = a2 + aStride;
            for (int x = 0; x + KeyChunk <= width; x += KeyChunk)
            {
                Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
                Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
                Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
                Vector256<float> c30 = default, c31 = default, c32 = default, c33 = default;
                float* col = bt + x;
                for (long c = 0, ac = 0; c < d; c++, col += btStride, ac += aStep)
                {
                    var k0 = Vector256.Load(col); var k1 = Vector256.Load(col + 8); var k2 = Vector256.Load(col + 16); var k3 = Vector256.Load(col + 24);
                    var q = Vector256.Create(a0[ac]);
                    c00 = Vector256.FusedMultiplyAdd(q, k0, c00); c01 = Vector256.FusedMultiplyAdd(q, k1, c01); c02 = Vector256.FusedMultiplyAdd(q, k2, c02); c03 = Vector256.FusedMultiplyAdd(q, k3, c03);
                    q = Vector256.Create(a1[ac]);
                    c10 = Vector256.FusedMultiplyAdd(q, k0, c10); c11 = Vector256.FusedMultiplyAdd(q, k1, c11); c12 = Vector256.FusedMultiplyAdd(q, k2, c12); c13 = Vector256.FusedMultiplyAdd(q, k3, c13);
                    q = Vector256.Create(a2[ac]);
                    c20 = Vector256.FusedMultiplyAdd(q, k0, c20); c21 = Vector256.FusedMultiplyAdd(q, k1, c21); c22 = Vector256.FusedMultiplyAdd(q, k2, c22); c23 = Vector256.FusedMultiplyAdd(q, k3, c23);
                    q = Vector256.Create(a3[ac]);
                    c30 = Vector256.FusedMultiplyAdd(q, k0, c30); c31 = Vector256.FusedMultiplyAdd(q, k1, c31); c32 = Vector256.FusedMultiplyAdd(q, k2, c32); c33 = Vector256.FusedMultiplyAdd(q, k3, c33);
                }
                float* o = dst + r * dstStride + x;
                Put(c00 * sc, o, accumulate); Put(c01 * sc, o + 8, accumulate); Put(c02 * sc, o + 16, accumulate); Put(c03 * sc, o + 24, accumulate);
                o += dstStride;
                Put(c10 * sc, o, accumulate); Put(c11 * sc, o + 8, accumulate); Put(c12 * sc, o + 16, accumulate); Put(c13 * sc, o + 24, accumulate);
                o += dstStride;
                Put(c20 * sc, o, accumulate); Put(c21 * sc, o + 8, accumulate); Put(c22 * sc, o + 16, accumulate); Put(c23 * sc, o + 24, accumulate);
                o += dstStride;
                Put(c30 * sc, o, accumulate); Put(c31 * sc, o + 8, accumulate); Put(c32 * sc, o + 16, accumulate); Put(c33 * sc, o + 24, accumulate);
            }
        }
        int whole = width / KeyChunk * KeyChunk;
        for (int r4 = 0; r4 < r; r4++) ScoreRow(a + (long)r4 * aStride, aStep, bt, btStride, dst + r4 * dstStride, whole, width, d, sc, accumulate);
        for (; r < rows; r++) ScoreRow(a + (long)r * aStride, aStep, bt, btStride, dst + r * dstStride, 0, width, d, sc, accumulate);
    }

    // One row of ScoresNarrow from column x0 on: 32 columns at a time, then a last 16.
    static void ScoreRow(float* ar, int aStep, float* bt, int btStride, float* dst, int x0, int width, int d, Vector256<float> sc, bool accumulate)
    {
        for (int x = x0; x < width; x += KeyChunk)
        {
            bool half = x + KeyChunk > width;
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
            float* col = bt + x;
            for (long c = 0, ac = 0; c < d; c++, col += btStride, ac += aStep)
            {
                var q = Vector256.Create(ar[ac]);
                c0 = Vector256.FusedMultiplyAdd(q, Vector256.Load(col), c0);
                c1 = Vector256.FusedMultiplyAdd(q, Vector256.Load(col + 8), c1);
                if (half) continue;
                c2 = Vector256.FusedMultiplyAdd(q, Vector256.Load(col + 16), c2);
                c3 = Vector256.FusedMultiplyAdd(q, Vector256.Load(col + 24), c3);
            }
            float* o = dst + x;
            Put(c0 * sc, o, accumulate); Put(c1 * sc, o + 8, accumulate);
            if (half) continue;
            Put(c2 * sc, o + 16, accumulate); Put(c3 * sc, o + 24, accumulate);
        }
    }

    // Stores a score block, or with accumulate adds it to what dst holds (the forward's P V into its accumulator).
    static void Put(Vector512<float> v, float* dst, bool accumulate) => (accumulate ? v + Vector512.Load(dst) : v).Store(dst);
    static void Put(Vector256<float> v, float* dst, bool accumulate) => (accumulate ? v + Vector256.Load(dst) : v).Store(dst);

    /// <summary>
    /// output[x, 0..d) += sum_{y &lt; inputs} coef[x*cx + y*cy] * input[y, 0..d) for x &lt; outputs; input rows are
    /// inStride apart, output rows outStride apart. Serves the backward's dS K (coef row-major) and P^T dO, dS^T Q
    /// (coef transposed via the strides). Register blocks: 8 output rows x 32 (or 16) columns of Vector512 where
    /// the hardware has it, for the columns that fill whole Vector512s; then 4 rows x 32 columns of Vector256.
    /// </summary>
    static void AccumulateRows(float* coef, int cx, int cy, int outputs, int inputs, float* input, int inStride, float* output, int outStride, int d)
    {
        int x = 0;
        if (Vector512.IsHardwareAccelerated && d >= 16)
        {
            int wide = d / 16 * 16;
            x = outputs / 8 * 8;
            for (int x8 = 0; x8 < x; x8 += 8) AccumulateEightRows(coef + x8 * cx, cx, cy, inputs, input, inStride, output + (long)x8 * outStride, outStride, wide);
            if (wide < d) AccumulateRowsNarrow(coef, cx, cy, x, inputs, input + wide, inStride, output + wide, outStride, d - wide);
        }
        AccumulateRowsNarrow(coef + x * cx, cx, cy, outputs - x, inputs, input, inStride, output + (long)x * outStride, outStride, d);
    }

    // Columns in steps of 32 (16 Vector512 accumulators), then one step of 16; d is a multiple of 16.
    static void AccumulateEightRows(float* coef, int cx, int cy, int inputs, float* input, int inStride, float* output, int outStride, int d)
    {
        float* o0 = output, o1 = o0 + outStride, o2 = o1 + outStride, o3 = o2 + outStride, o4 = o3 + outStride, o5 = o4 + outStride, o6 = o5 + outStride, o7 = o6 + outStride;
        int c = 0;
        for (; c + 32 <= d; c += 32)
        {
            var a00 = Vector512.Load(o0 + c); var a01 = Vector512.Load(o0 + c + 16); var a10 = Vector512.Load(o1 + c); var a11 = Vector512.Load(o1 + c + 16);
            var a20 = Vector512.Load(o2 + c); var a21 = Vector512.Load(o2 + c + 16); var a30 = Vector512.Load(o3 + c); var a31 = Vector512.Load(o3 + c + 16);
            var a40 = Vector512.Load(o4 + c); var a41 = Vector512.Load(o4 + c + 16); var a50 = Vector512.Load(o5 + c); var a51 = Vector512.Load(o5 + c + 16);
            var a60 = Vector512.Load(o6 + c); var a61 = Vector512.Load(o6 + c + 16); var a70 = Vector512.Load(o7 + c); var a71 = Vector512.Load(o7 + c + 16);
            float* inp = input + c, w = coef;
            for (int y = 0; y < inputs; y++, inp += inStride, w += cy)
            {
                var v0 = Vector512.Load(inp); var v1 = Vector512.Load(inp + 16);
                var p = Vector512.Create(w[0]); a00 = Vector512.FusedMultiplyAdd(p, v0, a00); a01 = Vector512.FusedMultiplyAdd(p, v1, a01);
                p = Vector512.Create(w[cx]); a10 = Vector512.FusedMultiplyAdd(p, v0, a10); a11 = Vector512.FusedMultiplyAdd(p, v1, a11);
                p = Vector512.Create(w[2 * cx]); a20 = Vector512.FusedMultiplyAdd(p, v0, a20); a21 = Vector512.FusedMultiplyAdd(p, v1, a21);
                p = Vector512.Create(w[3 * cx]); a30 = Vector512.FusedMultiplyAdd(p, v0, a30); a31 = Vector512.FusedMultiplyAdd(p, v1, a31);
                p = Vector512.Create(w[4 * cx]); a40 = Vector512.FusedMultiplyAdd(p, v0, a40); a41 = Vector512.FusedMultiplyAdd(p, v1, a41);
                p = Vector512.Create(w[5 * cx]); a50 = Vector512.FusedMultiplyAdd(p, v0, a50); a51 = Vector512.FusedMultiplyAdd(p, v1, a51);
                p = Vector512.Create(w[6 * cx]); a60 = Vector512.FusedMultiplyAdd(p, v0, a60); a61 = Vector512.FusedMultiplyAdd(p, v1, a61);
                p = Vector512.Create(w[7 * cx]); a70 = Vector512.FusedMultiplyAdd(p, v0, a70); a71 = Vector512.FusedMultiplyAdd(p, v1, a71);
            }
            a00.Store(o0 + c); a01.Store(o0 + c + 16); a10.Store(o1 + c); a11.Store(o1 + c + 16);
            a20.Store(o2 + c); a21.Store(o2 + c + 16); a30.Store(o3 + c); a31.Store(o3 + c + 16);
            a40.Store(o4 + c); a41.Store(o4 + c + 16); a50.Store(o5 + c); a51.Store(o5 + c + 16);
            a60.Store(o6 + c); a61.Store(o6 + c + 16); a70.Store(o7 + c); a71.Store(o7 + c + 16);
        }
        if (c < d)
        {
            var a0 = Vector512.Load(o0 + c); var a1 = Vector512.Load(o1 + c); var a2 = Vector512.Load(o2 + c); var a3 = Vector512.Load(o3 + c);
            var a4 = Vector512.Load(o4 + c); var a5 = Vector512.Load(o5 + c); var a6 = Vector512.Load(o6 + c); var a7 = Vector512.Load(o7 + c);
            float* inp = input + c, w = coef;
            for (int y = 0; y < inputs; y++, inp += inStride, w += cy)
            {
                var v = Vector512.Load(inp);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(w[0]), v, a0); a1 = Vector512.FusedMultiplyAdd(Vector512.Create(w[cx]), v, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(w[2 * cx]), v, a2); a3 = Vector512.FusedMultiplyAdd(Vector512.Create(w[3 * cx]), v, a3);
                a4 = Vector512.FusedMultiplyAdd(Vector512.Create(w[4 * cx]), v, a4); a5 = Vector512.FusedMultiplyAdd(Vector512.Create(w[5 * cx]), v, a5);
                a6 = Vector512.FusedMultiplyAdd(Vector512.Create(w[6 * cx]), v, a6); a7 = Vector512.FusedMultiplyAdd(Vector512.Create(w[7 * cx]), v, a7);
            }
            a0.Store(o0 + c); a1.Store(o1 + c); a2.Store(o2 + c); a3.Store(o3 + c); a4.Store(o4 + c); a5.Store(o5 + c); a6.Store(o6 + c); a7.Store(o7 + c);
        }
    }

    static void AccumulateRowsNarrow(float* coef, int cx, int cy, int outputs, int inputs, float* input, int inStride, float* output, int outStride, int d)
    {
        int x = 0;
        for (; x + 4 <= outputs; x += 4)
        {
            float* o0 = output + (long)x * outStride, o1 = o0 + outStride, o2 = o1 + outStride, o3 = o2 + outStride;
            float* w0 = coef + x * cx;
            int c = 0;
            for (; c + 32 <= d; c += 32)
            {
                var a00 = Vector256.Load(o0 + c); var a01 = Vector256.Load(o0 + c + 8); var a02 = Vector256.Load(o0 + c + 16); var a03 = Vector256.Load(o0 + c + 24);
                var a10 = Vector256.Load(o1 + c); var a11 = Vector256.Load(o1 + c + 8); var a12 = Vector256.Load(o1 + c + 16); var a13 = Vector256.Load(o1 + c + 24);
                var a20 = Vector256.Load(o2 + c); var a21 = Vector256.Load(o2 + c + 8); var a22 = Vector256.Load(o2 + c + 16); var a23 = Vector256.Load(o2 + c + 24);
                var a30 = Vector256.Load(o3 + c); var a31 = Vector256.Load(o3 + c + 8); var a32 = Vector256.Load(o3 + c + 16); var a33 = Vector256.Load(o3 + c + 24);
                float* inp = input + c, w = w0;
                for (int y = 0; y < inputs; y++, inp += inStride, w += cy)
                {
                    var v0 = Vector256.Load(inp); var v1 = Vector256.Load(inp + 8); var v2 = Vector256.Load(inp + 16); var v3 = Vector256.Load(inp + 24);
                    var p = Vector256.Create(w[0]);
                    a00 = Vector256.FusedMultiplyAdd(p, v0, a00); a01 = Vector256.FusedMultiplyAdd(p, v1, a01); a02 = Vector256.FusedMultiplyAdd(p, v2, a02); a03 = Vector256.FusedMultiplyAdd(p, v3, a03);
                    p = Vector256.Create(w[cx]);
                    a10 = Vector256.FusedMultiplyAdd(p, v0, a10); a11 = Vector256.FusedMultiplyAdd(p, v1, a11); a12 = Vector256.FusedMultiplyAdd(p, v2, a12); a13 = Vector256.FusedMultiplyAdd(p, v3, a13);
                    p = Vector256.Create(w[2 * cx]);
                    a20 = Vector256.FusedMultiplyAdd(p, v0, a20); a21 = Vector256.FusedMultiplyAdd(p, v1, a21); a22 = Vector256.FusedMultiplyAdd(p, v2, a22); a23 = Vector256.FusedMultiplyAdd(p, v3, a23);
                    p = Vector256.Create(w[3 * cx]);
                    a30 = Vector256.FusedMultiplyAdd(p, v0, a30); a31 = Vector256.FusedMultiplyAdd(p, v1, a31); a32 = Vector256.FusedMultiplyAdd(p, v2, a32); a33 = Vector256.FusedMultiplyAdd(p, v3, a33);
                }
                a00.Store(o0 + c); a01.Store(o0 + c + 8); a02.Store(o0 + c + 16); a03.Store(o0 + c + 24);
                a10.Store(o1 + c); a11.Store(o1 + c + 8); a12.Store(o1 + c + 16); a13.Store(o1 + c + 24);
                a20.Store(o2 + c); a21.Store(o2 + c + 8); a22.Store(o2 + c + 16); a23.Store(o2 + c + 24);
                a30.Store(o3 + c); a31.Store(o3 + c + 8); a32.Store(o3 + c + 16); a33.Store(o3 + c + 24);
            }
            for (; c + 8 <= d; c += 8)
            {
                var a0 = Vector256.Load(o0 + c); var a1 = Vector256.Load(o1 + c); var a2 = Vector256.Load(o2 + c); var a3 = Vector256.Load(o3 + c);
                float* inp = input + c, w = w0;
                for (int y = 0; y < inputs; y++, inp += inStride, w += cy)
                {
                    var v = Vector256.Load(inp);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(w[0]), v, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(w[cx]), v, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(w[2 * cx]), v, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Create(w[3 * cx]), v, a3);
                }
                a0.Store(o0 + c); a1.Store(o1 + c); a2.Store(o2 + c); a3.Store(o3 + c);
            }
            for (; c < d; c++)
            {
                float* inp = input + c, w = w0;
                for (int y = 0; y < inputs; y++, inp += inStride, w += cy)
                {
                    o0[c] += w[0] * *inp; o1[c] += w[cx] * *inp; o2[c] += w[2 * cx] * *inp; o3[c] += w[3 * cx] * *inp;
                }
            }
        }
        for (; x < outputs; x++)
        {
            float* o = output + (long)x * outStride, w0 = coef + x * cx;
            int c = 0;
            for (; c + 8 <= d; c += 8)
            {
                var a = Vector256.Load(o + c);
                float* inp = input + c, w = w0;
                for (int y = 0; y < inputs; y++, inp += inStride, w += cy)
                    a = Vector256.FusedMultiplyAdd(Vector256.Create(*w), Vector256.Load(inp), a);
                a.Store(o + c);
            }
            for (; c < d; c++)
            {
                float* inp = input + c, w = w0;
                for (int y = 0; y < inputs; y++, inp += inStride, w += cy) o[c] += *w * *inp;
            }
        }
    }
}
