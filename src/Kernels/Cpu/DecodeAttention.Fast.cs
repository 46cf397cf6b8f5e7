// Attention of one position over the KV cache, fast path. A decode step reads each cached key and value row of
// D floats once per query head, so the work is a short matrix-vector product, a softmax, and a weighted row sum:
//   scores: four keys at a time share each load of q (which stays in registers for D <= 128), with one
//           accumulator per key and a horizontal sum at the end, as MatVec does for weight rows;
//   softmax: exp(s - max s) in TensorPrimitives passes over the count scores (TensorPrimitives.SoftMax
//           does not subtract the max, so scores beyond ±88 would give NaN); the division by the sum is
//           left to the D outputs;
//   o = Σ p_j v_j: o's D floats stay in registers across all positions (up to 64 at a time), each position
//           adding its row times its weight. For D = 16 or 48 the last 16-wide column runs over even and odd
//           positions in two accumulators, so consecutive FMAs do not wait on each other.
// Calling TensorPrimitives once per position instead costs more than the arithmetic at these lengths (D is
// 48 to 128). Head dimensions that are not a multiple of 16 use the reference.

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DrICL.Kernels.Cpu;

public static unsafe partial class DecodeAttention
{
    // q, o: [D]; keys, values: count rows of [D], stride floats apart; scores: [count] scratch.
    public static void Head(float* q, float* keys, float* values, nint stride, int count, int d, float* scores, float* o)
    {
        if (!Vector512.IsHardwareAccelerated || d % 16 != 0)
        {
            HeadReference(q, keys, values, stride, count, d, scores, o);
            return;
        }
        Scores(q, keys, stride, count, d, 1f / MathF.Sqrt(d), scores);
        var p = new Span<float>(scores, count);
        TensorPrimitives.Subtract(p, TensorPrimitives.Max(p), p);
        TensorPrimitives.Exp(p, p);
        float sum = TensorPrimitives.Sum(p);
        WeightedSum(scores, values, stride, count, d, o);
        var output = new Span<float>(o, d);
        TensorPrimitives.Multiply(output, 1f / sum, output);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Scores(float* q, float* keys, nint stride, int count, int d, float scale, float* scores)
    {
        int j = 0;
        for (; j + 4 <= count; j += 4)
        {
            float* k0 = keys + j * stride, k1 = k0 + stride, k2 = k1 + stride, k3 = k2 + stride;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int c = 0; c < d; c += 16)
            {
                var qv = Vector512.Load(q + c);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(k0 + c), qv, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(k1 + c), qv, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(k2 + c), qv, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(k3 + c), qv, a3);
            }
            scores[j] = Vector512.Sum(a0) * scale;
            scores[j + 1] = Vector512.Sum(a1) * scale;
            scores[j + 2] = Vector512.Sum(a2) * scale;
            scores[j + 3] = Vector512.Sum(a3) * scale;
        }
        for (; j < count; j++)
        {
            float* k = keys + j * stride;
            Vector512<float> a = default;
            for (int c = 0; c < d; c += 16) a = Vector512.FusedMultiplyAdd(Vector512.Load(k + c), Vector512.Load(q + c), a);
            scores[j] = Vector512.Sum(a) * scale;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void WeightedSum(float* p, float* values, nint stride, int count, int d, float* o)
    {
        int c = 0;
        for (; c + 64 <= d; c += 64)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            float* v = values + c;
            for (int j = 0; j < count; j++, v += stride)
            {
                var pj = Vector512.Create(p[j]);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(v), pj, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(v + 16), pj, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(v + 32), pj, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(v + 48), pj, a3);
            }
            a0.Store(o + c); a1.Store(o + c + 16); a2.Store(o + c + 32); a3.Store(o + c + 48);
        }
        for (; c < d; c += 16)
        {
            Vector512<float> even = default, odd = default;
            float* v = values + c;
            int j = 0;
            for (; j + 2 <= count; j += 2, v += 2 * stride)
            {
                even = Vector512.FusedMultiplyAdd(Vector512.Load(v), Vector512.Create(p[j]), even);
                odd = Vector512.FusedMultiplyAdd(Vector512.Load(v + stride), Vector512.Create(p[j + 1]), odd);
            }
            if (j < count) even = Vector512.FusedMultiplyAdd(Vector512.Load(v), Vector512.Create(p[j]), even);
            (even + odd).Store(o + c);
        }
    }
}
