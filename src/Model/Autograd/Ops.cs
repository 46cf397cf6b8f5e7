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
    public static Var Rope(Tape tape, Var x, int[] positions, int batch, int seq, int heads, int headDim, float theta)
    {
        var d = tape.Device;
        var y = d.Zeros(x.Shape);
        d.Copy(x.Value, y);
        d.Rope(y, positions, batch, seq, heads, headDim, theta, inverse: false);
        var output = tape.Output(y, x);
        tape.Record(() => tape.AddGrad(x, g =>
        {
            d.Copy(output.Grad!, g);
            d.Rope(g, positions, batch, seq, heads, headDim, theta, inverse: true);
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

    /// <summary>
    /// Token cross-entropy of logits [N,V] against labels [N]. The per-token NLLs are read back at once,
    /// because objectives such as DrICL choose the token weights from them; set Weights before Backward.
    /// </summary>
    public static TokenLosses CrossEntropy(Tape tape, Var logits, int[] labels)
    {
        var d = tape.Device;
        if (labels.Length != logits.Rows) throw new ArgumentException($"{labels.Length} labels for {logits.Rows} logit rows");
        var nll = d.Zeros(logits.Rows);
        var lse = d.Zeros(logits.Rows);
        d.CrossEntropy(logits.Value, labels, nll, lse);
        var losses = new TokenLosses(nll.ToArray());
        tape.Record(() =>
        {
            var weights = losses.Weights ?? throw new InvalidOperationException("cross-entropy weights were not set before backward");
            var w = d.Upload(weights, weights.Length);
            tape.AddGrad(logits, g => d.CrossEntropyBackward(logits.Value, labels, lse, w, g));
        }, logits);
        return losses;
    }
}

/// <summary>Per-token NLLs (0 where the label is -100) and the weights the loss gives them.</summary>
public sealed class TokenLosses(float[] nll)
{
    public float[] Nll { get; } = nll;
    /// <summary>d loss / d nll_t; the loss is sum_t Weights[t] * Nll[t].</summary>
    public float[]? Weights { get; set; }
}
