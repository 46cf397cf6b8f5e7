// Attention of one new position over the KV cache for all query heads at once (flash-decoding). The cache
// holds one row of kvHeads*D floats per position; a head reading only its D floats of every row would walk
// the cache in kvHeads interleaved strided streams, once per query head. So the work is split by position
// instead: each chunk is a range of consecutive rows, read once and contiguously for every head, first the
// key rows, then the value rows. Chunks are claimed across the ThreadTeam.
//
// Per chunk and query head h (kv head h / (heads / kvHeads)), over the chunk's positions j:
//   s_j = q_h · k_j / sqrt(D),   m = max_j s_j,   l = Σ_j exp(s_j - m),   u = Σ_j exp(s_j - m) v_j
//   keys:   four rows at a time; per head, four dot products share each load of q_h (one accumulator per row),
//           and their four horizontal sums share one set of shuffles;
//   softmax: each head's scores are padded with -inf to a multiple of 16, so max and exp (SoftmaxExp,
//            exp(-inf) = 0) run over whole vectors with no tail;
//   values: four rows at a time; per head, u_h is loaded once, takes four rows' FMAs, and is stored back.
// The merge (after the team's step, on the caller) rescales the chunks' partials to a common max, the
// log-sum-exp rule:  M = max_c m_c,   o = Σ_c exp(m_c - M) u_c / Σ_c exp(m_c - M) l_c.
// With one chunk the merge is the division by l. Head dimensions that are not a multiple of 16 (or no
// Vector512) run the same chunks and merge with scalar loops.

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DrICL.Kernels.Cpu;

public sealed unsafe partial class DecodeAttention : ITeamJob
{
    readonly int heads, group, d, kvWidth, partialFloats;
    readonly float scale;
    readonly float[] scores, partials;  // pinned: chunk c's scores [heads, padded length]; its partial [heads*D] u, [heads] m, [heads] l
    float* q, keys, values;
    int count;

    /// <summary>Scratch for up to maxChunks chunks over up to context positions.</summary>
    public DecodeAttention(int heads, int kvHeads, int d, int context, int maxChunks)
    {
        if (heads % kvHeads != 0) throw new ArgumentException($"{heads} query heads do not share {kvHeads} kv heads evenly");
        this.heads = heads; this.d = d;
        group = heads / kvHeads;
        kvWidth = kvHeads * d;
        partialFloats = heads * (d + 2);
        scale = 1f / MathF.Sqrt(d);
        MaxChunks = Math.Max(1, maxChunks);
        scores = Pinned.Floats((long)heads * (context + 16 * MaxChunks));
        partials = Pinned.Floats((long)partialFloats * MaxChunks);
    }

    public int MaxChunks { get; }

    /// <summary>
    /// o = attention of q over count cached positions, split into chunks (at most MaxChunks and count) across the team.
    /// q, o: [heads*D]; keys, values: count rows of [kvHeads*D], contiguous.
    /// </summary>
    public void Run(ThreadTeam team, int chunks, float* q, float* keys, float* values, int count, float* o)
    {
        if (chunks < 1 || chunks > MaxChunks) throw new ArgumentOutOfRangeException(nameof(chunks), $"{chunks} chunks, not in 1..{MaxChunks}");
        if (count < 1 || (long)heads * (count + 16L * chunks) > scores.Length) throw new ArgumentOutOfRangeException(nameof(count), $"{count} positions do not fit the scratch");
        chunks = Math.Min(chunks, count);
        this.q = q; this.keys = keys; this.values = values; this.count = count;
        team.Run(this, chunks);
        Merge(chunks, o);
    }

    public void Execute(int chunk, int chunks)
    {
        int j0 = (int)((long)count * chunk / chunks), n = (int)((long)count * (chunk + 1) / chunks) - j0;
        int padded = (n + 15) & ~15;
        float* s = Pinned.Address(scores) + (nint)heads * (j0 + 16 * chunk), u = Pinned.Address(partials) + (nint)chunk * partialFloats;
        float* m = u + heads * d, l = m + heads;
        float* k = keys + (nint)j0 * kvWidth, v = values + (nint)j0 * kvWidth;
        if (Vector512.IsHardwareAccelerated && d % 16 == 0)
        {
            Scores(k, n, s, padded);
            Softmax(s, padded, m, l);
            WeightedSum(s, padded, v, n, u);
        }
        else ChunkScalar(k, v, n, s, u, m, l);
    }

    // s: [heads, padded]; rows n..padded-1 of each head are -inf.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Scores(float* k, int n, float* s, int padded)
    {
        int j = 0;
        for (; j + 4 <= n; j += 4)
        {
            float* k0 = k + (nint)j * kvWidth, k1 = k0 + kvWidth, k2 = k1 + kvWidth, k3 = k2 + kvWidth;
            for (int h = 0; h < heads; h++)
            {
                float* qh = q + h * d;
                int offset = h / group * d;
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int c = 0; c < d; c += 16)
                {
                    var qv = Vector512.Load(qh + c);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(k0 + offset + c), qv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Load(k1 + offset + c), qv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Load(k2 + offset + c), qv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Load(k3 + offset + c), qv, a3);
                }
                (Sum4(a0, a1, a2, a3) * scale).Store(s + (nint)h * padded + j);
            }
        }
        for (; j < n; j++)
        {
            float* kj = k + (nint)j * kvWidth;
            for (int h = 0; h < heads; h++)
            {
                float* qh = q + h * d, kh = kj + h / group * d;
                Vector512<float> a = default;
                for (int c = 0; c < d; c += 16) a = Vector512.FusedMultiplyAdd(Vector512.Load(kh + c), Vector512.Load(qh + c), a);
                s[(nint)h * padded + j] = Vector512.Sum(a) * scale;
            }
        }
        for (int h = 0; h < heads; h++)
            new Span<float>(s + (nint)h * padded + n, padded - n).Fill(float.NegativeInfinity);
    }

    // Per head: m = max s, s = exp(s - m) in place, l = Σ s.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Softmax(float* s, int padded, float* m, float* l)
    {
        for (int h = 0; h < heads; h++)
        {
            float* sh = s + (nint)h * padded;
            var max = Vector512.Create(float.NegativeInfinity);
            for (int j = 0; j < padded; j += 16) max = Vector512.Max(max, Vector512.Load(sh + j));
            var shift = Vector512.Create(m[h] = HorizontalMax(max));
            var sum = Vector512<float>.Zero;
            for (int j = 0; j < padded; j += 16)
            {
                var e = SoftmaxExp.Of(Vector512.Load(sh + j) - shift);
                e.Store(sh + j);
                sum += e;
            }
            l[h] = Vector512.Sum(sum);
        }
    }

    // [Σ a0, Σ a1, Σ a2, Σ a3]: the four reductions share their shuffles.
    static Vector128<float> Sum4(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        var h01 = Avx.HorizontalAdd(a0.GetLower() + a0.GetUpper(), a1.GetLower() + a1.GetUpper());
        var h23 = Avx.HorizontalAdd(a2.GetLower() + a2.GetUpper(), a3.GetLower() + a3.GetUpper());
        var h = Avx.HorizontalAdd(h01, h23);
        return h.GetLower() + h.GetUpper();
    }

    static float HorizontalMax(Vector512<float> x)
    {
        var h = Vector256.Max(x.GetLower(), x.GetUpper());
        var g = Vector128.Max(h.GetLower(), h.GetUpper());
        return MathF.Max(MathF.Max(g[0], g[1]), MathF.Max(g[2], g[3]));
    }

    // u_h = Σ_j p_hj v_j over the chunk's n rows, u: [heads*D].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void WeightedSum(float* p, int padded, float* v, int n, float* u)
    {
        new Span<float>(u, heads * d).Clear();
        int j = 0;
        for (; j + 4 <= n; j += 4)
        {
            float* v0 = v + (nint)j * kvWidth, v1 = v0 + kvWidth, v2 = v1 + kvWidth, v3 = v2 + kvWidth;
            for (int h = 0; h < heads; h++)
            {
                float* ph = p + (nint)h * padded + j, uh = u + h * d;
                int offset = h / group * d;
                Vector512<float> p0 = Vector512.Create(ph[0]), p1 = Vector512.Create(ph[1]), p2 = Vector512.Create(ph[2]), p3 = Vector512.Create(ph[3]);
                for (int c = 0; c < d; c += 16)
                {
                    var a = Vector512.Load(uh + c);
                    a = Vector512.FusedMultiplyAdd(Vector512.Load(v0 + offset + c), p0, a);
                    a = Vector512.FusedMultiplyAdd(Vector512.Load(v1 + offset + c), p1, a);
                    a = Vector512.FusedMultiplyAdd(Vector512.Load(v2 + offset + c), p2, a);
                    a = Vector512.FusedMultiplyAdd(Vector512.Load(v3 + offset + c), p3, a);
                    a.Store(uh + c);
                }
            }
        }
        for (; j < n; j++)
        {
            float* vj = v + (nint)j * kvWidth;
            for (int h = 0; h < heads; h++)
            {
                float* uh = u + h * d, vh = vj + h / group * d;
                var pj = Vector512.Create(p[(nint)h * padded + j]);
                for (int c = 0; c < d; c += 16)
                    Vector512.FusedMultiplyAdd(Vector512.Load(vh + c), pj, Vector512.Load(uh + c)).Store(uh + c);
            }
        }
    }

    // The same chunk partials one float at a time; s: [heads, n].
    void ChunkScalar(float* k, float* v, int n, float* s, float* u, float* m, float* l)
    {
        for (int h = 0; h < heads; h++)
        {
            float* qh = q + h * d, sh = s + (nint)h * n, uh = u + h * d;
            int offset = h / group * d;
            float max = float.NegativeInfinity, sum = 0;
            for (int j = 0; j < n; j++)
            {
                float dot = 0;
                for (int c = 0; c < d; c++) dot += qh[c] * k[(nint)j * kvWidth + offset + c];
                sh[j] = dot * scale;
                max = MathF.Max(max, sh[j]);
            }
            for (int c = 0; c < d; c++) uh[c] = 0;
            for (int j = 0; j < n; j++)
            {
                float p = MathF.Exp(sh[j] - max);
                sum += p;
                for (int c = 0; c < d; c++) uh[c] += p * v[(nint)j * kvWidth + offset + c];
            }
            m[h] = max;
            l[h] = sum;
        }
    }

    // o_h = Σ_c exp(m_c - M) u_c / Σ_c exp(m_c - M) l_c, M = max_c m_c.
    void Merge(int chunks, float* o)
    {
        float* first = Pinned.Address(partials);
        for (int h = 0; h < heads; h++)
        {
            float max = float.NegativeInfinity, sum = 0;
            for (int c = 0; c < chunks; c++) max = MathF.Max(max, first[(nint)c * partialFloats + heads * d + h]);
            var oh = new Span<float>(o + h * d, d);
            oh.Clear();
            for (int c = 0; c < chunks; c++)
            {
                float* u = first + (nint)c * partialFloats;
                float w = MathF.Exp(u[heads * d + h] - max);
                sum += w * u[heads * d + heads + h];
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(u + h * d, d), w, oh, oh);
            }
            TensorPrimitives.Multiply(oh, 1f / sum, oh);
        }
    }
}
