using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace DrICL.Kernels.Cpu;

/// <summary>
/// Token-level cross-entropy on logits with per-token weights: nll_t = logsumexp(z_t) - z_t[label_t],
/// and the backward dlogits_t = w_t * (softmax(z_t) - onehot(label_t)). Label -100 means no loss.
/// The fast kernels run rows in parallel and vectorize within a row; the fused ForwardBackward touches
/// each row while it is hot in cache (max, then exp into dlogits with the sum, then one scale), instead
/// of streaming the [N,V] logits through memory once for the loss and again for the gradient.
/// </summary>
public static unsafe partial class CrossEntropy
{
    public const int IgnoreIndex = -100;

    // Rows are handed to threads in groups of at least this many logits, so small vocabularies do not
    // pay a scheduling cost per row.
    const int LogitsPerWorkItem = 1 << 15;

    // logits: [N,V], labels: [N] -> nll: [N], lse: [N]
    public static void Forward(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, Span<float> nll, Span<float> lse, int n, int v)
    {
        CheckSizes(logits.Length, labels, n, v);
        if (nll.Length < n || lse.Length < n) throw new ArgumentException($"nll and lse need {n} entries");
        fixed (float* pz = logits, pnll = nll, plse = lse)
        fixed (int* plabels = labels)
        {
            float* z0 = pz, nll0 = pnll, lse0 = plse;
            int* labels0 = plabels;
            ForRows(n, v, t =>
            {
                float* z = z0 + (long)t * v;
                float max = TensorPrimitives.Max(new ReadOnlySpan<float>(z, v));
                float l = max + MathF.Log(SumExp(z, v, max));
                lse0[t] = l;
                nll0[t] = labels0[t] == IgnoreIndex ? 0f : l - z[labels0[t]];
            });
        }
    }

    // weights: [N] -> dlogits: [N,V]
    public static void Backward(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, ReadOnlySpan<float> lse, ReadOnlySpan<float> weights, Span<float> dlogits, int n, int v)
    {
        CheckSizes(logits.Length, labels, n, v);
        if (lse.Length < n || weights.Length < n || dlogits.Length < (long)n * v) throw new ArgumentException($"lse, weights and dlogits do not fit {n} rows of {v}");
        fixed (float* pz = logits, plse = lse, pw = weights, pdz = dlogits)
        fixed (int* plabels = labels)
        {
            float* z0 = pz, lse0 = plse, w0 = pw, dz0 = pdz;
            int* labels0 = plabels;
            ForRows(n, v, t =>
            {
                float* dz = dz0 + (long)t * v;
                if (labels0[t] == IgnoreIndex) { new Span<float>(dz, v).Clear(); return; }
                ScaledExp(z0 + (long)t * v, dz, v, lse0[t], w0[t]);
                dz[labels0[t]] -= w0[t];
            });
        }
    }

    /// <summary>
    /// Forward and Backward in one pass over each row: nll, lse and dlogits = w (softmax - onehot).
    /// dlogits may be the logits buffer itself (in place; each row's label logit is read before the row is
    /// overwritten); otherwise the two must not overlap.
    /// </summary>
    public static void ForwardBackward(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, ReadOnlySpan<float> weights, Span<float> nll, Span<float> lse, Span<float> dlogits, int n, int v)
    {
        CheckSizes(logits.Length, labels, n, v);
        if (nll.Length < n || lse.Length < n || weights.Length < n || dlogits.Length < (long)n * v) throw new ArgumentException($"nll, lse, weights and dlogits do not fit {n} rows of {v}");
        fixed (float* pz = logits, pw = weights, pnll = nll, plse = lse, pdz = dlogits)
        fixed (int* plabels = labels)
        {
            float* z0 = pz, w0 = pw, nll0 = pnll, lse0 = plse, dz0 = pdz;
            int* labels0 = plabels;
            ForRows(n, v, t =>
            {
                float* z = z0 + (long)t * v, dz = dz0 + (long)t * v;
                bool ignored = labels0[t] == IgnoreIndex;
                int label = labels0[t];
                float target = ignored ? 0f : z[label];
                float max = TensorPrimitives.Max(new ReadOnlySpan<float>(z, v));
                float sum = ExpSum(z, dz, v, max);
                float l = max + MathF.Log(sum);
                lse0[t] = l;
                var row = new Span<float>(dz, v);
                if (ignored) { nll0[t] = 0f; row.Clear(); return; }
                nll0[t] = l - target;
                TensorPrimitives.Multiply(row, w0[t] / sum, row);
                dz[label] -= w0[t];
            });
        }
    }

    // logits: [N,V], labels: [N] -> nll: [N], lse: [N]
    public static void ForwardReference(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, Span<float> nll, Span<float> lse, int n, int v)
    {
        for (int t = 0; t < n; t++)
        {
            var z = logits.Slice(t * v, v);
            float max = float.NegativeInfinity;
            for (int i = 0; i < v; i++) max = MathF.Max(max, z[i]);
            double sum = 0;
            for (int i = 0; i < v; i++) sum += Math.Exp(z[i] - max);
            lse[t] = max + (float)Math.Log(sum);
            nll[t] = labels[t] == IgnoreIndex ? 0f : lse[t] - z[CheckLabel(labels[t], v)];
        }
    }

    // weights: [N] -> dlogits: [N,V]
    public static void BackwardReference(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, ReadOnlySpan<float> lse, ReadOnlySpan<float> weights, Span<float> dlogits, int n, int v)
    {
        for (int t = 0; t < n; t++)
        {
            var dz = dlogits.Slice(t * v, v);
            if (labels[t] == IgnoreIndex) { dz.Clear(); continue; }
            for (int i = 0; i < v; i++) dz[i] = weights[t] * MathF.Exp(logits[t * v + i] - lse[t]);
            dz[CheckLabel(labels[t], v)] -= weights[t];
        }
    }

    // Labels are checked here, before the parallel loops, so a bad one throws as in the reference
    // rather than wrapped in an AggregateException; the loops then index with them unchecked.
    static void CheckSizes(int logits, ReadOnlySpan<int> labels, int n, int v)
    {
        if (n < 0 || v <= 0 || logits < (long)n * v || labels.Length < n)
            throw new ArgumentException($"cross-entropy over {n} rows of {v} logits: buffers hold {logits} logits and {labels.Length} labels");
        foreach (int label in labels[..n])
            if (label != IgnoreIndex) CheckLabel(label, v);
    }

    /// <summary>Runs row(t) for t &lt; n on the thread pool, rows grouped so each work item has enough logits.</summary>
    static void ForRows(int n, int v, Action<int> row)
    {
        int perItem = Math.Max(1, LogitsPerWorkItem / v), items = (n + perItem - 1) / perItem;
        Parallel.For(0, items, item =>
        {
            for (int t = item * perItem, end = Math.Min(n, t + perItem); t < end; t++) row(t);
        });
    }

    /// <summary>sum_i exp(z[i] - shift).</summary>
    static float SumExp(float* z, int n, float shift)
    {
        var sh = Vector256.Create(shift);
        var total = Vector256<float>.Zero;
        int i = 0;
        for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count) total += Vector256.Exp(Vector256.Load(z + i) - sh);
        float sum = Vector256.Sum(total);
        for (; i < n; i++) sum += MathF.Exp(z[i] - shift);
        return sum;
    }

    /// <summary>dst[i] = exp(z[i] - shift), returning the sum; dst may be z.</summary>
    static float ExpSum(float* z, float* dst, int n, float shift)
    {
        var sh = Vector256.Create(shift);
        var total = Vector256<float>.Zero;
        int i = 0;
        for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
        {
            var e = Vector256.Exp(Vector256.Load(z + i) - sh);
            e.Store(dst + i);
            total += e;
        }
        float sum = Vector256.Sum(total);
        for (; i < n; i++) sum += dst[i] = MathF.Exp(z[i] - shift);
        return sum;
    }

    /// <summary>dst[i] = scale * exp(z[i] - shift).</summary>
    static void ScaledExp(float* z, float* dst, int n, float shift, float scale)
    {
        var sh = Vector256.Create(shift);
        var sc = Vector256.Create(scale);
        int i = 0;
        for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count) (sc * Vector256.Exp(Vector256.Load(z + i) - sh)).Store(dst + i);
        for (; i < n; i++) dst[i] = scale * MathF.Exp(z[i] - shift);
    }

    internal static int CheckLabel(int label, int vocab) =>
        (uint)label < (uint)vocab ? label : throw new ArgumentOutOfRangeException(nameof(label), $"label {label} is outside the vocabulary of {vocab} (use {IgnoreIndex} for no loss)");
}
