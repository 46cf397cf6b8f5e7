namespace DrICL.Kernels.Cpu;

/// <summary>
/// AdamW with PyTorch semantics: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, p *= 1 - lr wd,
/// p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). The gradient is scaled by gradScale first,
/// which is how global-norm clipping is applied without touching the gradient buffers.
/// </summary>
public static partial class AdamW
{
    public static void Reference(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, AdamWConfig cfg, int step, float gradScale)
    {
        float bc1 = 1f - MathF.Pow(cfg.Beta1, step), bc2 = 1f - MathF.Pow(cfg.Beta2, step);
        for (int i = 0; i < p.Length; i++)
        {
            float gi = g[i] * gradScale;
            m[i] = cfg.Beta1 * m[i] + (1f - cfg.Beta1) * gi;
            v[i] = cfg.Beta2 * v[i] + (1f - cfg.Beta2) * gi * gi;
            p[i] *= 1f - cfg.Lr * cfg.WeightDecay;
            p[i] -= cfg.Lr * (m[i] / bc1) / (MathF.Sqrt(v[i] / bc2) + cfg.Eps);
        }
    }

    public static double SumOfSquaresReference(ReadOnlySpan<float> g)
    {
        double s = 0;
        foreach (var x in g) s += (double)x * x;
        return s;
    }
}
