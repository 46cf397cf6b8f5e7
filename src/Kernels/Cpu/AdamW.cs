using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace DrICL.Kernels.Cpu;

/// <summary>
/// AdamW with PyTorch semantics: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, p *= 1 - lr wd,
/// p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). The gradient is scaled by gradScale first,
/// which is how global-norm clipping is applied without touching the gradient buffers.
/// The fast Step is the same arithmetic in the same order (no fused multiply-adds), so it matches the
/// reference bit for bit; it runs Vector256-wide and splits large tensors across threads.
/// </summary>
public static unsafe partial class AdamW
{
    // Elements per work item: big enough to amortize scheduling, small enough to spread a large tensor.
    const int Chunk = 1 << 15;
    // SumOfSquares sums this many floats in float SIMD lanes, then adds the chunk totals in double.
    const int SumChunk = 1 << 12;

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

    public static void Step(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, AdamWConfig cfg, int step, float gradScale)
    {
        if (g.Length != p.Length || m.Length != p.Length || v.Length != p.Length)
            throw new ArgumentException($"AdamW buffers differ in length: p {p.Length}, g {g.Length}, m {m.Length}, v {v.Length}");
        var c = new Constants(cfg, step, gradScale);
        int n = p.Length, chunks = (n + Chunk - 1) / Chunk;
        fixed (float* pp = p, pg = g, pm = m, pv = v)
        {
            if (chunks <= 1) { StepRange(pp, pg, pm, pv, n, c); return; }
            float* p0 = pp, g0 = pg, m0 = pm, v0 = pv;
            Parallel.For(0, chunks, i =>
            {
                long start = (long)i * Chunk;
                StepRange(p0 + start, g0 + start, m0 + start, v0 + start, (int)Math.Min(Chunk, n - start), c);
            });
        }
    }

    /// <summary>sum g^2: float SIMD within chunks of SumChunk, double across them, chunks summed in order (deterministic).</summary>
    public static double SumOfSquares(ReadOnlySpan<float> g)
    {
        int n = g.Length, chunks = (n + SumChunk - 1) / SumChunk;
        if (n <= Chunk)
        {
            double s = 0;
            for (int i = 0; i < n; i += SumChunk) s += TensorPrimitives.SumOfSquares(g.Slice(i, Math.Min(SumChunk, n - i)));
            return s;
        }
        var partial = new double[chunks];
        fixed (float* pg = g)
        {
            float* g0 = pg;
            Parallel.For(0, chunks, i =>
            {
                long start = (long)i * SumChunk;
                partial[i] = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(g0 + start, (int)Math.Min(SumChunk, n - start)));
            });
        }
        double total = 0;
        foreach (var x in partial) total += x;
        return total;
    }

    readonly struct Constants(AdamWConfig cfg, int step, float gradScale)
    {
        public readonly float B1 = cfg.Beta1, B2 = cfg.Beta2, OneMinusB1 = 1f - cfg.Beta1, OneMinusB2 = 1f - cfg.Beta2;
        public readonly float Bc1 = 1f - MathF.Pow(cfg.Beta1, step), Bc2 = 1f - MathF.Pow(cfg.Beta2, step);
        public readonly float Decay = 1f - cfg.Lr * cfg.WeightDecay, Lr = cfg.Lr, Eps = cfg.Eps, GradScale = gradScale;
    }

    static void StepRange(float* p, float* g, float* m, float* v, int n, in Constants c)
    {
        var b1 = Vector256.Create(c.B1); var b2 = Vector256.Create(c.B2);
        var ob1 = Vector256.Create(c.OneMinusB1); var ob2 = Vector256.Create(c.OneMinusB2);
        var bc1 = Vector256.Create(c.Bc1); var bc2 = Vector256.Create(c.Bc2);
        var decay = Vector256.Create(c.Decay); var lr = Vector256.Create(c.Lr); var eps = Vector256.Create(c.Eps); var gs = Vector256.Create(c.GradScale);
        int i = 0;
        for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
        {
            var gi = Vector256.Load(g + i) * gs;
            var mi = b1 * Vector256.Load(m + i) + ob1 * gi;
            var vi = b2 * Vector256.Load(v + i) + ob2 * gi * gi;
            var pi = Vector256.Load(p + i) * decay;
            pi -= lr * (mi / bc1) / (Vector256.Sqrt(vi / bc2) + eps);
            mi.Store(m + i); vi.Store(v + i); pi.Store(p + i);
        }
        for (; i < n; i++)
        {
            float gi = g[i] * c.GradScale;
            m[i] = c.B1 * m[i] + c.OneMinusB1 * gi;
            v[i] = c.B2 * v[i] + c.OneMinusB2 * gi * gi;
            p[i] *= c.Decay;
            p[i] -= c.Lr * (m[i] / c.Bc1) / (MathF.Sqrt(v[i] / c.Bc2) + c.Eps);
        }
    }
}
