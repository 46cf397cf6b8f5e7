using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.ScanReduceOperations;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// One AdamW step with PyTorch semantics, one thread per parameter, and the sum of squares
/// behind the global gradient norm.
/// AdamW: g is scaled by gradScale first (how global-norm clipping is applied without touching the
/// gradient); m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, p *= 1 - lr wd, p -= lr (m/bc1) / (sqrt(v/bc2) + eps).
/// The parameters are the fp32 master weights whatever the compute precision. The bias corrections
/// bc1 = 1 - b1^t and bc2 = 1 - b2^t come from the host, computed as the CPU does.
/// SumOfSquares: a grid-stride loop gives each thread many elements, squared exactly in double; each group
/// reduces with ILGPU.Algorithms' group Reduce and adds its total to out[0] with one double atomic add.
/// out[0] is zeroed by the host first. The order of the group totals varies, which only moves the last
/// bits of a double.
/// </summary>
public static class AdamWKernels
{
    /// <summary>The per-step scalars of one AdamW launch.</summary>
    public readonly record struct StepScalars(float Lr, float Beta1, float Beta2, float Eps, float WeightDecay, float Bc1, float Bc2, float GradScale);

    // p, g, m, v: [n]; p, m, v updated in place
    public static void Step(Index1D i, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, StepScalars s)
    {
        float gi = g[i] * s.GradScale;
        float mi = s.Beta1 * m[i] + (1f - s.Beta1) * gi;
        float vi = s.Beta2 * v[i] + (1f - s.Beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float pi = p[i] * (1f - s.Lr * s.WeightDecay);
        p[i] = pi - s.Lr * (mi / s.Bc1) / (XMath.Sqrt(vi / s.Bc2) + s.Eps);
    }

    // x: [n] -> out: [1] += sum of x^2; grid: any, group: any
    public static void SumOfSquares(ArrayView<float> x, int n, ArrayView<double> output)
    {
        double sum = 0.0;
        for (long i = Grid.GlobalIndex.X; i < n; i += (long)Grid.DimX * Group.DimX)
            sum += (double)x[i] * x[i];
        sum = GroupExtensions.Reduce<double, AddDouble>(sum);
        if (Group.IsFirstThread) Atomic.Add(ref output[0], sum);
    }
}
