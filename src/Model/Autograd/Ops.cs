using DrICL.Kernels;

namespace DrICL.Model.Autograd;

/// <summary>
/// The differentiable ops of a Llama/Mistral transformer, forward and backward side by side.
/// Activations are 2-D: [N,C] with N = B*T tokens; heads live in the columns ([N, H*D]).
/// </summary>
public static class Ops
{
    // table: [V,C], ids: [N] -> [N,C]
    public static Var Embedding(Tape tape, Var table, int[] ids)
    {
        var d = tape.Device;
        var y = d.Zeros(ids.Length, table.Columns);
        d.Embedding(table.Value, ids, y);
        var output = tape.Output(y, table);
        tape.Record(() => d.EmbeddingBackward(output.Grad!, ids, tape.GradOf(table)), table);
        return output;
    }

    // x: [N,C], w: [C] -> [N,C]
    public static Var RmsNorm(Tape tape, Var x, Var w, float eps)
    {
        var d = tape.Device;
        var y = d.Zeros(x.Shape);
        var rstd = d.Zeros(x.Rows);
        d.RmsNorm(x.Value, w.Value, y, rstd, eps);
        var output = tape.Output(y, x, w);
        tape.Record(() =>
        {
            var dx = tape.GradTarget(x) ?? d.Zeros(x.Shape);
            d.RmsNormBackward(output.Grad!, x.Value, w.Value, rstd, dx, tape.GradOf(w));
            tape.Settle(x, dx);
        }, x, w);
        return output;
    }

    // x: [N,in], w: [out,in] (Hugging Face layout) -> [N,out] = x @ w^T
    public static Var Linear(Tape tape, Var x, Var w)
    {
        var d = tape.Device;
        var y = d.Zeros(x.Rows, w.Rows);
        d.MatMul(x.Value, w.Value, y, transA: false, transB: true, accumulate: false);
        var output = tape.Output(y, x, w);
        tape.Record(() =>
        {
            var dy = output.Grad!;
            if (w.RequiresGrad) d.MatMul(dy, x.Value, tape.GradOf(w), transA: true, transB: false, accumulate: true);   // dw += dy^T @ x
            if (x.RequiresGrad)
            {
                bool fresh = x.Grad is null;
                d.MatMul(dy, w.Value, tape.GradOf(x), transA: false, transB: false, accumulate: !fresh); // dx += dy @ w
            }
        }, x, w);
        return output;
    }

    // x: [B*T, H*D] -> rotated copy; the backward rotates the gradient back.
    public static Var Rope(Tape tape, Var x, int[] positions, int batch, int seq, int heads, int headDim, RopeFrequencies frequencies)
    {
        var d = tape.Device;
        var y = d.Zeros(x.Shape);
        d.Copy(x.Value, y);
        d.Rope(y, positions, batch, seq, heads, headDim, frequencies, inverse: false);
        var output = tape.Output(y, x);
        tape.Record(() => tape.AddGrad(x, g =>
        {
            d.Copy(output.Grad!, g);
            d.Rope(g, positions, batch, seq, heads, headDim, frequencies, inverse: true);
        }), x);
        return output;
    }

    // q: [B*Tq, H*D], k, v: [B*Tk, KV*D] -> [B*Tq, H*D]
    public static Var Attention(Tape tape, Var q, Var k, Var v, AttentionShape shape, AttentionMask mask)
    {
        var d = tape.Device;
        var o = d.Zeros(q.Shape);
        var lse = d.Zeros(shape.Batch * shape.Heads * shape.QueryLength);
        d.Attention(q.Value, k.Value, v.Value, o, lse, shape, mask);
        var output = tape.Output(o, q, k, v);
        tape.Record(() =>
        {
            var dq = tape.GradTarget(q) ?? d.Zeros(q.Shape);
            var dk = tape.GradTarget(k) ?? d.Zeros(k.Shape);
            var dv = tape.GradTarget(v) ?? d.Zeros(v.Shape);
            d.AttentionBackward(output.Grad!, q.Value, k.Value, v.Value, o, lse, dq, dk, dv, shape, mask);
            tape.Settle(q, dq);
            tape.Settle(k, dk);
            tape.Settle(v, dv);
        }, q, k, v);
        return output;
    }

    // gate, up: [N,F] -> silu(gate) * up
    public static Var SwiGlu(Tape tape, Var gate, Var up)
    {
        var d = tape.Device;
        var h = d.Zeros(gate.Shape);
        d.SwiGlu(gate.Value, up.Value, h);
        var output = tape.Output(h, gate, up);
        tape.Record(() =>
        {
            var dgate = tape.GradTarget(gate) ?? d.Zeros(gate.Shape);
            var dup = tape.GradTarget(up) ?? d.Zeros(up.Shape);
            d.SwiGluBackward(output.Grad!, gate.Value, up.Value, dgate, dup);
            tape.Settle(gate, dgate);
            tape.Settle(up, dup);
        }, gate, up);
        return output;
    }

    // a + b, same shape (the residual stream)
    public static Var Add(Tape tape, Var a, Var b)
    {
        var d = tape.Device;
        var y = d.Zeros(a.Shape);
        d.Add(a.Value, b.Value, y);
        var output = tape.Output(y, a, b);
        // The output's gradient is final once this step runs, so one input may take it over without a copy.
        tape.Record(() =>
        {
            tape.AddGrad(b, g => d.Copy(output.Grad!, g));
            tape.PassGrad(a, output.Grad!);
        }, a, b);
        return output;
    }

    /// <summary>The most floats one chunk's logits scratch holds when the caller does not choose chunkRows: 2^24 (64 MiB).</summary>
    public const int LinearCrossEntropyScratchFloats = 1 << 24;

    /// <summary>The default chunk of LinearCrossEntropy: as many rows as fit 2^24 logits, at least 1, at most rows.</summary>
    public static int DefaultChunkRows(int rows, int vocab) => Math.Max(1, Math.Min(rows, LinearCrossEntropyScratchFloats / Math.Max(1, vocab)));

    /// <summary>
    /// The lm_head GEMM fused with weighted token cross-entropy, chunked over tokens: x [N,C] (final hidden
    /// states), w [V,C] (the lm_head in Hugging Face layout; it may be the tied embedding, so its gradient
    /// accumulates), labels [N] (-100 = no loss). Same contract as a cross-entropy on x @ wᵀ: the per-token
    /// NLLs are read back at once, because objectives such as DrICL choose the token weights from them; set
    /// Weights before Backward. The loss is sum_t Weights[t] * Nll[t].
    /// <para>
    /// The [N,V] logits never exist. Forward: for each chunk of chunkRows rows, logits = x_chunk @ wᵀ go into
    /// one reusable [chunkRows,V] scratch, the cross-entropy kernel turns them into the rows' NLL and
    /// logsumexp, and only those two numbers per row are kept. Backward recomputes each chunk's logits into
    /// the same scratch (one extra GEMM per chunk, as in Liger's fused linear cross-entropy and Apple's
    /// cut-cross-entropy: recomputing costs a third more lm_head FLOPs, storing the logits costs N·V floats),
    /// overwrites them in place with dlogits = Weights[t] * (softmax - onehot) (the weights are folded into
    /// dlogits here, before either GEMM, so dW needs no separate reduction), then dx_chunk = dlogits @ w and
    /// dw += dlogitsᵀ @ x_chunk. Chunks whose labels are all -100 skip the forward GEMM, chunks whose weights
    /// are all zero (or ignored) skip the backward: their dx rows stay zero and they add nothing to dw.
    /// </para>
    /// <para>
    /// Memory: chunkRows·V floats of scratch plus O(N) per-token state, instead of the N·V logits and N·V
    /// dlogits of Linear followed by a cross-entropy. chunkRows defaults to DefaultChunkRows (at most 2^24
    /// floats of scratch); a caller may pass its own (any value ≥ 1; values above N mean one chunk).
    /// </para>
    /// </summary>
    public static TokenLosses LinearCrossEntropy(Tape tape, Var x, Var w, int[] labels, int? chunkRows = null)
    {
        var d = tape.Device;
        int n = x.Rows, vocab = w.Rows;
        if (labels.Length != n) throw new ArgumentException($"{labels.Length} labels for {n} hidden rows");
        if (x.Columns != w.Columns) throw new ArgumentException($"hidden states {x} do not fit the lm_head {w}");
        int chunk = chunkRows ?? DefaultChunkRows(n, vocab);
        if (chunk < 1) throw new ArgumentOutOfRangeException(nameof(chunkRows), $"chunkRows must be at least 1, not {chunk}");
        chunk = Math.Min(chunk, Math.Max(1, n));

        var chunks = new List<(int Start, int Count, int[] Labels)>();
        for (int start = 0; start < n; start += chunk)
        {
            int count = Math.Min(chunk, n - start);
            chunks.Add((start, count, labels[start..(start + count)]));
        }
        var scratch = d.Zeros(chunk, vocab);                                   // logits, then dlogits, of one chunk
        var nll = d.Zeros(n, 1);                                               // 0 where the label is -100
        var lse = d.Zeros(n, 1);
        foreach (var (start, count, chunkLabels) in chunks)
        {
            if (AllIgnored(chunkLabels)) continue;
            var logits = scratch.SliceRows(0, count);
            d.MatMul(x.Value.SliceRows(start, count), w.Value, logits, transA: false, transB: true, accumulate: false);
            d.CrossEntropy(logits, chunkLabels, nll.SliceRows(start, count), lse.SliceRows(start, count));
        }
        var losses = new TokenLosses(nll.ToArray());
        tape.Record(() =>
        {
            var weights = losses.Weights ?? throw new InvalidOperationException("cross-entropy weights were not set before backward");
            if (weights.Length != n) throw new ArgumentException($"{weights.Length} cross-entropy weights for {n} tokens");
            var weightsOnDevice = d.Upload(weights, n, 1);
            var dx = tape.GradTarget(x);                                       // zeros: skipped chunks keep zero rows
            var dw = w.RequiresGrad ? tape.GradOf(w) : null;                   // accumulated: w may be the tied embedding
            foreach (var (start, count, chunkLabels) in chunks)
            {
                if (!Contributes(chunkLabels, weights.AsSpan(start, count))) continue;
                var xChunk = x.Value.SliceRows(start, count);
                var dlogits = scratch.SliceRows(0, count);
                d.MatMul(xChunk, w.Value, dlogits, transA: false, transB: true, accumulate: false);   // recompute the logits
                d.CrossEntropyBackward(dlogits, chunkLabels, lse.SliceRows(start, count), weightsOnDevice.SliceRows(start, count), dlogits);
                if (dx is not null) d.MatMul(dlogits, w.Value, dx.SliceRows(start, count), transA: false, transB: false, accumulate: false); // dx = dlogits @ w
                if (dw is not null) d.MatMul(dlogits, xChunk, dw, transA: true, transB: false, accumulate: true);                       // dw += dlogitsᵀ @ x
            }
            tape.Settle(x, dx);
        }, x, w);
        return losses;
    }

    const int IgnoreIndex = Kernels.Cpu.CrossEntropy.IgnoreIndex;

    static bool AllIgnored(int[] labels)
    {
        foreach (int label in labels) if (label != IgnoreIndex) return false;
        return true;
    }

    // A row adds to the gradients only when it has a label and a nonzero weight.
    static bool Contributes(int[] labels, ReadOnlySpan<float> weights)
    {
        for (int t = 0; t < labels.Length; t++) if (labels[t] != IgnoreIndex && weights[t] != 0f) return true;
        return false;
    }
}

/// <summary>Per-token NLLs (0 where the label is -100) and the weights the loss gives them.</summary>
public sealed class TokenLosses(float[] nll)
{
    public float[] Nll { get; } = nll;
    /// <summary>d loss / d nll_t; the loss is sum_t Weights[t] * Nll[t].</summary>
    public float[]? Weights { get; set; }
}
