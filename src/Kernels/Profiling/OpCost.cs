namespace DrICL.Kernels.Profiling;

/// <summary>
/// The work one device op does, counted from its shapes alone (the profiler never reads tensor values):
/// floating-point operations and the bytes it must move between memory and the compute units.
/// <para>
/// FLOPs: a multiply-add is 2 (a GEMM is 2·M·N·K); elementwise kernels count each arithmetic operation of
/// their CPU reference once, exp and sqrt included. Attention counts its two GEMMs per visible (query, key)
/// pair, 4·D per pair and head, over the causal (and sliding-window) triangle; the demonstration-isolating
/// and packing masks are data and are not subtracted. Its backward is 2.5× the forward (five GEMMs to
/// two), as FlashAttention counts it.
/// </para>
/// <para>
/// Bytes: the compulsory traffic, each input read once and each output written once (read and written when
/// accumulated), 4 bytes a float or int id. A kernel that re-reads a tile from cache moves no more; one that
/// spills moves more, which shows as a lower achieved GB/s than the roofline allows.
/// </para>
/// </summary>
public readonly record struct OpCost(long Flops, long Bytes)
{
    const long F = sizeof(float);

    /// <summary>FLOPs per byte: where the op sits on the roofline's x axis.</summary>
    public double Intensity => Bytes == 0 ? 0 : (double)Flops / Bytes;

    // a: [M,K], b: [K,N] -> c: [M,N] (c read too when accumulating)
    public static OpCost MatMul(long m, long n, long k, bool accumulate) =>
        new(2 * m * n * k, F * (m * k + k * n + m * n * (accumulate ? 2 : 1)));

    /// <summary>The (query, key) pairs the causal mask (with its window, if any) lets attention compute, per batch row and head.</summary>
    public static long VisiblePairs(AttentionShape s, int window)
    {
        long pairs = 0;
        for (int i = 0; i < s.QueryLength; i++)
        {
            long keys = s.QueryOffset + i + 1;
            pairs += window > 0 ? Math.Min(keys, window) : keys;
        }
        return pairs;
    }

    // q: [B,Tq,H,D], k, v: [B,Tk,KV,D] -> o: [B,Tq,H,D], lse: [B,H,Tq]; the backward reads dO, q, k, v, o, lse and writes dq, dk, dv.
    public static OpCost Attention(AttentionShape s, int window, bool backward)
    {
        long forward = 4L * s.Batch * s.Heads * s.HeadDim * VisiblePairs(s, window);
        long q = (long)s.Batch * s.QueryLength * s.Heads * s.HeadDim, kv = (long)s.Batch * s.KeyLength * s.KvHeads * s.HeadDim;
        long lse = (long)s.Batch * s.Heads * s.QueryLength;
        return backward
            ? new(forward * 5 / 2, F * (q + 2 * kv + q + q + lse + q + 2 * kv))
            : new(forward, F * (q + 2 * kv + q + lse));
    }

    /// <summary>
    /// logits: [N,V]. Forward: max, subtract, exp and sum over every row (4 per logit), reading the logits and
    /// labels and writing nll and lse. Backward: subtract lse, exp and weight (3 per logit) on the labelled rows
    /// only (the others are zeroed), reading logits, labels, lse and weights and writing dlogits.
    /// </summary>
    public static OpCost CrossEntropy(long n, long v, long labelled, bool backward) => backward
        ? new(3 * labelled * v, F * (n * v + 3 * n + n * v))
        : new(4 * n * v, F * (n * v + n + 2 * n));

    // x: [N,C], w: [C] -> y: [N,C], rstd: [N]. Backward: dy, x, w, rstd -> dx, dw (accumulated).
    public static OpCost RmsNorm(long n, long c, bool backward) => backward
        ? new(11 * n * c, F * (3 * n * c + 3 * c + n))
        : new(4 * n * c, F * (2 * n * c + c + n));

    // x: [B,T,H,D] rotated in place (3 FLOPs an element: two products and a sum per output of each pair), positions [B,T].
    public static OpCost Rope(long tokens, long heads, long headDim) =>
        new(3 * tokens * heads * headDim, F * (2 * tokens * heads * headDim + tokens));

    // gate, up: [N] -> h (forward: exp, add, divide, two products); backward reads dh, gate, up and writes dgate, dup (11 an element).
    public static OpCost SwiGlu(long elements, bool backward) => backward
        ? new(11 * elements, F * 5 * elements)
        : new(5 * elements, F * 3 * elements);

    // table: [V,C], ids: [N] -> y: [N,C]; the backward adds N rows of dy into dtable (read and written).
    public static OpCost Embedding(long n, long c, bool backward) => backward
        ? new(n * c, F * (3 * n * c + n))
        : new(0, F * (2 * n * c + n));

    /// <summary>AdamW on p, g, m, v: 16 FLOPs an element (see Cpu/AdamW.Reference); reads four tensors and writes three.</summary>
    public static OpCost AdamW(long elements) => new(16 * elements, F * 7 * elements);

    /// <summary>An elementwise op with the given FLOPs per element, reading `reads` and writing `writes` tensors of that size.</summary>
    public static OpCost Elementwise(long elements, int flopsPerElement, int reads, int writes) =>
        new(flopsPerElement * elements, F * (reads + writes) * elements);
}
