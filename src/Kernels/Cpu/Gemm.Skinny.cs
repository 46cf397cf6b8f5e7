// GEMM for a handful of rows of C (M below the micro-kernel's MR: decode steps, single sequences).
// Packing would copy all of B to use a few rows of it, so this path reads B in place, once. With transB
// every c[i,j] is a dot product of row i of op(a) with row j of b, which stays in L1 across the M rows.
// Without it, row i of C is the sum over p of a[i,p] times row p of b, accumulated a strip of columns at
// a time so the M strips of C stay in L1 while the rows of b stream past. Threads take disjoint column
// ranges. A transposed a is first gathered into rows (M x K floats, small by definition of this path).

using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DrICL.Kernels.Cpu;

public static partial class Gemm
{
    static unsafe void MultiplySkinny(float* a, float* b, float* c, int m, int n, int k, bool transA, bool transB, bool accumulate, int threads)
    {
        if (!transA)
        {
            new SkinnyJob(a, b, c, m, n, k, transB, accumulate).Run(threads);
            return;
        }
        var rows = ArrayPool<float>.Shared.Rent(m * k);
        try
        {
            for (int p = 0; p < k; p++)
                for (int i = 0; i < m; i++) rows[i * k + p] = a[(nint)p * m + i];
            fixed (float* r = rows) new SkinnyJob(r, b, c, m, n, k, transB, accumulate).Run(threads);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rows);
        }
    }

    // Four independent accumulators, so the loop runs at load speed instead of waiting on FMA latency.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe float Dot(float* x, float* y, int k)
    {
        int p = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; p + 64 <= k; p += 64)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p), Vector512.Load(y + p), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p + 16), Vector512.Load(y + p + 16), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p + 32), Vector512.Load(y + p + 32), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p + 48), Vector512.Load(y + p + 48), s3);
            }
            for (; p + 16 <= k; p += 16) s0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p), Vector512.Load(y + p), s0);
            sum = Vector512.Sum(s0 + s1 + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; p + 32 <= k; p += 32)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p), Vector256.Load(y + p), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p + 8), Vector256.Load(y + p + 8), s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p + 16), Vector256.Load(y + p + 16), s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p + 24), Vector256.Load(y + p + 24), s3);
            }
            for (; p + 8 <= k; p += 8) s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p), Vector256.Load(y + p), s0);
            sum = Vector256.Sum(s0 + s1 + (s2 + s3));
        }
        for (; p < k; p++) sum += x[p] * y[p];
        return sum;
    }

    sealed unsafe class SkinnyJob(float* rows, float* b, float* c, int m, int n, int k, bool transB, bool accumulate)
    {
        const int Strip = 1024;  // columns of C per strip: M x 4 KB, comfortably in L1

        public void Run(int threads)
        {
            int parts = threads == 1 ? 1 : Math.Min(Ceil(n, 64), 4 * threads);
            if (parts == 1) Columns(0, n);
            else
            {
                int per = Ceil(n, parts);
                Parallel.For(0, Ceil(n, per), new ParallelOptions { MaxDegreeOfParallelism = threads },
                    t => Columns(t * per, Math.Min(n, (t + 1) * per)));
            }
        }

        void Columns(int j0, int j1)
        {
            if (transB)
            {
                for (int j = j0; j < j1; j++)
                {
                    for (int i = 0; i < m; i++)
                    {
                        float dot = Dot(rows + (nint)i * k, b + (nint)j * k, k);
                        float* cij = c + (nint)i * n + j;
                        *cij = accumulate ? *cij + dot : dot;
                    }
                }
                return;
            }
            for (int s = j0; s < j1; s += Strip)
            {
                int w = Math.Min(Strip, j1 - s);
                if (!accumulate)
                    for (int i = 0; i < m; i++) new Span<float>(c + (nint)i * n + s, w).Clear();
                for (int p = 0; p < k; p++)
                {
                    var bp = new ReadOnlySpan<float>(b + (nint)p * n + s, w);
                    for (int i = 0; i < m; i++)
                    {
                        var ci = new Span<float>(c + (nint)i * n + s, w);
                        TensorPrimitives.MultiplyAdd(bp, rows[(nint)i * k + p], ci, ci);
                    }
                }
            }
        }
    }
}
