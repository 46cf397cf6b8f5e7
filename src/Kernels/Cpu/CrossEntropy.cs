namespace DrICL.Kernels.Cpu;

/// <summary>
/// Token-level cross-entropy on logits with per-token weights: nll_t = logsumexp(z_t) - z_t[label_t],
/// and the backward dlogits_t = w_t * (softmax(z_t) - onehot(label_t)). Label -100 means no loss.
/// </summary>
public static partial class CrossEntropy
{
    public const int IgnoreIndex = -100;

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

    internal static int CheckLabel(int label, int vocab) =>
        (uint)label < (uint)vocab ? label : throw new ArgumentOutOfRangeException(nameof(label), $"label {label} is outside the vocabulary of {vocab} (use {IgnoreIndex} for no loss)");
}
