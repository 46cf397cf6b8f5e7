namespace DrICL.Kernels.Cpu;

/// <summary>
/// Matrix multiply, row-major: c[M,N] = (accumulate ? c : 0) + op(a)[M,K] @ op(b)[K,N].
/// a is stored [M,K], or [K,M] when transA; b is stored [K,N], or [N,K] when transB.
/// </summary>
public static partial class Gemm
{
    /// <summary>The plain triple loop, accumulating in double: the reference the fast kernel is tested against.</summary>
    public static void Reference(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool transA, bool transB, bool accumulate)
    {
        CheckSizes(a.Length, b.Length, c.Length, m, n, k);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? c[i * n + j] : 0;
                for (int p = 0; p < k; p++)
                    sum += (double)a[transA ? p * m + i : i * k + p] * b[transB ? j * k + p : p * n + j];
                c[i * n + j] = (float)sum;
            }
    }

    /// <summary>c[M,N] = a[M,K] @ bᵀ for b [N,K] in bfloat16: b widened to float32, then <see cref="Reference"/>.</summary>
    public static void Bf16Reference(ReadOnlySpan<float> a, ReadOnlySpan<ushort> b, Span<float> c, int m, int n, int k)
    {
        CheckSizes(a.Length, b.Length, c.Length, m, n, k);
        var wide = new float[n * k];
        Bf16.ToFloats(b[..(n * k)], wide);
        Reference(a, wide, c, m, n, k, transA: false, transB: true, accumulate: false);
    }

    internal static void CheckSizes(int aLength, int bLength, int cLength, int m, int n, int k)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"negative GEMM size {m}x{n}x{k}");
        if (aLength < (long)m * k || bLength < (long)k * n || cLength < (long)m * n)
            throw new ArgumentException($"GEMM {m}x{n}x{k}: buffers hold {aLength}, {bLength}, {cLength} floats");
    }
}
