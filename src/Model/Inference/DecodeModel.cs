using System.Numerics.Tensors;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;

namespace DrICL.Model.Inference;

/// <summary>
/// A Llama/Mistral decoder for one sequence, built for inference only (compare Transformer, which trains).
/// Every buffer of a decode step, the KV cache included, is allocated once here, so Step allocates nothing:
///
///   x = embed[token]
///   per layer:  q,k,v = Wq|Wk|Wv · rmsnorm(x)           one fused matvec (rows split across the team)
///               rope(q, k); cache[pos] = k, v            (rounded to bf16 with bf16 weights: DecodeCache)
///               x += Wo · attention(q, cache[..pos])     positions split across the team
///               g,u = Wg|Wu · rmsnorm(x)                  one fused matvec
///               x += Wd · (silu(g) * u)
///   logits = lm_head · rmsnorm(x)
///
/// Prefill runs a prompt through the same layers as [T, C] matrices on the GEMM (Gemm.Project, q|k|v and
/// gate|up each one parallel step) and flash-attention kernels, reading each weight once for T tokens instead
/// of T times, then produces the last position's logits. Long prompts go in batches of PrefillChunk positions,
/// each attending to the cache the earlier ones filled (a bf16 cache widened to float32 for the attention).
/// </summary>
public sealed unsafe class DecodeModel : IDisposable
{
    readonly InferenceWeights w;
    readonly ThreadTeam team;
    readonly RotaryTable rope;
    readonly int c, f, heads, kvHeads, headDim, kvWidth, window;
    readonly float eps;
    readonly float[] x, xb, q, k, v, att, xb2, gate, up, act, logits, pairs;  // all pinned
    readonly DecodeCache cache;
    float[]? wideKeys, wideValues;  // pinned, [Context, kvWidth]: a bf16 cache's rows as float32 for the prefill's attention
    readonly FusedMatVec[] qkv, output, gateUp, down;
    readonly FusedMatVec lmHead;
    readonly DecodeAttention attention;
    PrefillBuffers? batch;

    // Prompt positions per prefill batch: long prompts run in batches so that the activations (and the copy of
    // x that Gemm.Project packs) stay bounded, about 100 MB at 7B shapes, while each weight still serves 512 rows.
    public const int PrefillChunk = 512;

    const int AttentionFloatsToSplit = 1 << 14;  // cached keys per layer below which one thread does all positions

    public ModelConfig Config => w.Config;
    public InferenceWeights Weights => w;
    /// <summary>Positions the KV cache holds.</summary>
    public int Context { get; }
    /// <summary>Positions filled so far: the next token goes to position Length.</summary>
    public int Length { get; private set; }

    /// <param name="inverseFrequencies">RoPE's D/2 inverse frequencies (ModelConfig.Rope: plain rope_theta or Llama 3 scaled).</param>
    public DecodeModel(InferenceWeights weights, int context, float[] inverseFrequencies, int threads)
    {
        w = weights;
        var cfg = weights.Config;
        if (context <= 0) throw new ArgumentOutOfRangeException(nameof(context), $"context {context} is not positive");
        Context = context;
        c = cfg.HiddenSize; f = cfg.IntermediateSize; heads = cfg.Heads; kvHeads = cfg.KvHeads; headDim = cfg.HeadDim;
        kvWidth = kvHeads * headDim;
        window = cfg.SlidingWindow ?? 0;
        eps = cfg.RmsNormEps;
        team = new ThreadTeam(threads);
        rope = new RotaryTable(inverseFrequencies, context);

        x = Pinned.Floats(c); xb = Pinned.Floats(c); xb2 = Pinned.Floats(c);
        q = Pinned.Floats(heads * headDim); att = Pinned.Floats(heads * headDim); k = Pinned.Floats(kvWidth); v = Pinned.Floats(kvWidth);
        gate = Pinned.Floats(f); up = Pinned.Floats(f); act = Pinned.Floats(f);
        logits = Pinned.Floats(cfg.VocabSize);
        pairs = Pinned.Floats(Math.Max(Math.Max(c, f), heads * headDim));
        cache = new DecodeCache(cfg.Layers, context, kvWidth, weights.Format);

        qkv = new FusedMatVec[cfg.Layers]; output = new FusedMatVec[cfg.Layers];
        gateUp = new FusedMatVec[cfg.Layers]; down = new FusedMatVec[cfg.Layers];
        for (int l = 0; l < cfg.Layers; l++)
        {
            var layer = weights.Layers[l];
            qkv[l] = new FusedMatVec([layer.Q, layer.K, layer.V], [Addr(q), Addr(k), Addr(v)], Ptr(xb), Ptr(pairs));
            output[l] = new FusedMatVec([layer.O], [Addr(xb2)], Ptr(att), Ptr(pairs));
            gateUp[l] = new FusedMatVec([layer.Gate, layer.Up], [Addr(gate), Addr(up)], Ptr(xb), Ptr(pairs));
            down[l] = new FusedMatVec([layer.Down], [Addr(xb2)], Ptr(act), Ptr(pairs));
        }
        lmHead = new FusedMatVec([weights.LmHead], [Addr(logits)], Ptr(xb), Ptr(pairs));
        attention = new DecodeAttention(heads, kvHeads, headDim, context, maxChunks: team.Size);  // one chunk per thread: 2 or 4 measured slower
    }

    /// <summary>Loads a model folder for decoding (RoPE as its config.json says, Llama 3 scaling included); the model owns (and disposes) the weights.</summary>
    public static DecodeModel Load(string folder, WeightFormat format, int context, int threads)
    {
        var weights = new InferenceWeights(folder, format);
        return new DecodeModel(weights, context, weights.Config.Rope.Inverse, threads);
    }

    static float* Ptr(float[] pinned) => Pinned.Address(pinned);
    static nint Addr(float[] pinned) => (nint)Pinned.Address(pinned);

    /// <summary>The logits of the last position run (valid until the next Step or Prefill).</summary>
    public ReadOnlySpan<float> Logits => logits;

    /// <summary>Forgets every position from length on (0 empties the cache).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length), $"cannot truncate {Length} positions to {length}");
        Length = length;
    }

    /// <summary>Runs one token at position Length and returns the logits of the next.</summary>
    public ReadOnlySpan<float> Step(int token)
    {
        CheckRoom(1);
        CheckToken(token);
        int pos = Length;
        w.Embedding.ReadRow(token, x);
        for (int l = 0; l < w.Layers.Length; l++)
        {
            var layer = w.Layers[l];
            Norm(x, layer.InputNorm, xb);
            qkv[l].Run(team);
            rope.Rotate(Ptr(q), heads, pos);
            rope.Rotate(Ptr(k), kvHeads, pos);
            cache.Write(l, pos, 1, Ptr(k), Ptr(v));
            Attend(l, pos);
            output[l].Run(team);
            TensorPrimitives.Add(x, xb2, x);
            Norm(x, layer.PostNorm, xb);
            gateUp[l].Run(team);
            SwiGlu.ForwardSerial(gate, up, act);
            down[l].Run(team);
            TensorPrimitives.Add(x, xb2, x);
        }
        Length++;
        return Finish();
    }

    /// <summary>Runs the tokens at positions Length.. in batches of up to PrefillChunk and returns the logits after the last.</summary>
    public ReadOnlySpan<float> Prefill(ReadOnlySpan<int> tokens)
    {
        if (tokens.Length == 0) throw new ArgumentException("nothing to prefill");
        if (tokens.Length == 1) return Step(tokens[0]);
        CheckRoom(tokens.Length);
        foreach (int t in tokens) CheckToken(t);
        batch ??= new PrefillBuffers(Math.Min(PrefillChunk, Context), c, heads * headDim, f, heads);
        for (int start = 0; start < tokens.Length; start += PrefillChunk)
            RunBatch(tokens.Slice(start, Math.Min(PrefillChunk, tokens.Length - start)), batch);
        return Finish();
    }

    // The layers over n positions as [n, C] matrices. K and V are projected straight into the rows of their
    // positions: of a float32 cache itself, or of the float32 copy of a bf16 cache, where they are rounded as they
    // are written to the cache and the earlier positions' rows are widened from it. The attention output and MLP
    // projections add into the residual stream X as they store, and the down projection applies SwiGLU to gate
    // and up as it packs them.
    void RunBatch(ReadOnlySpan<int> tokens, PrefillBuffers b)
    {
        int n = tokens.Length, past = Length, qWidth = heads * headDim;
        float* X = Ptr(b.X), XN = Ptr(b.XN), Q = Ptr(b.Q), A = Ptr(b.A), G = Ptr(b.G), U = Ptr(b.U);
        for (int i = 0; i < n; i++) w.Embedding.ReadRow(tokens[i], b.X.AsSpan(i * c, c));
        var shape = new AttentionShape(1, n, past + n, heads, kvHeads, headDim, past);
        var mask = new AttentionMask(window);
        bool wide = cache.Format == WeightFormat.Bf16;
        if (wide)
        {
            wideKeys ??= Pinned.Floats((long)Context * kvWidth);
            wideValues ??= Pinned.Floats((long)Context * kvWidth);
        }
        int visible = (past + n) * kvWidth;
        for (int l = 0; l < w.Layers.Length; l++)
        {
            var layer = w.Layers[l];
            float* keys = wide ? Ptr(wideKeys!) : cache.Keys(l), values = wide ? Ptr(wideValues!) : cache.Values(l);  // positions 0..past+n-1
            float* K = keys + (nint)past * kvWidth, V = values + (nint)past * kvWidth;
            RmsNorm.Forward(b.X.AsSpan(0, n * c), layer.InputNorm, b.XN.AsSpan(0, n * c), b.Rstd.AsSpan(0, n), n, c, eps);
            Gemm.Project(team.Size, XN, n, [layer.Q, layer.K, layer.V], [(nint)Q, (nint)K, (nint)V]);
            RotateAndCache(l, Q, keys, values, n, past);
            FlashAttention.Forward(b.Q.AsSpan(0, n * qWidth), new ReadOnlySpan<float>(keys, visible), new ReadOnlySpan<float>(values, visible),
                b.A.AsSpan(0, n * qWidth), b.Lse.AsSpan(0, heads * n), shape, mask);
            Gemm.Project(team.Size, A, n, [layer.O], [(nint)X], accumulate: true);
            RmsNorm.Forward(b.X.AsSpan(0, n * c), layer.PostNorm, b.XN.AsSpan(0, n * c), b.Rstd.AsSpan(0, n), n, c, eps);
            Gemm.Project(team.Size, XN, n, [layer.Gate, layer.Up], [(nint)G, (nint)U]);
            Gemm.ProjectSwiGlu(team.Size, G, U, n, layer.Down, X, accumulate: true);
        }
        b.X.AsSpan((n - 1) * c, c).CopyTo(x);
        Length += n;
    }

    // RoPE on the batch's q and k rows (k at positions past..past+n-1 of keys) and, for a bf16 cache, the rounding
    // of k and v into it and the widening of the earlier positions' rows out of it: each thread one share of the
    // positions. Run on the caller alone, this stretch let the thread pool's worker fall asleep, and the attention
    // next waited for it to wake: a median 74 µs, and in a quarter of the calls the caller did all of it alone.
    void RotateAndCache(int layer, float* q, float* keys, float* values, int n, int past)
    {
        nint qs = (nint)q, ks = (nint)keys, vs = (nint)values;
        int parts = Math.Min(team.Size, n), qWidth = heads * headDim;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            int first = part * n / parts, end = (part + 1) * n / parts;
            float* k = (float*)ks + (nint)past * kvWidth, v = (float*)vs + (nint)past * kvWidth;
            for (int i = first; i < end; i++)
            {
                rope.Rotate((float*)qs + (nint)i * qWidth, heads, past + i);
                rope.Rotate(k + (nint)i * kvWidth, kvHeads, past + i);
            }
            if (cache.Format == WeightFormat.Bf16)
            {
                cache.Write(layer, past + first, end - first, k + (nint)first * kvWidth, v + (nint)first * kvWidth);
                int from = part * past / parts, to = (part + 1) * past / parts;
                cache.Widen(layer, from, to - from, (float*)ks, (float*)vs);
            }
        });
    }

    /// <summary>The [n, width] activations of one prefill batch (pinned), allocated at the first prefill and kept.</summary>
    sealed class PrefillBuffers(int n, int c, int qWidth, int f, int heads)
    {
        public readonly float[] X = Pinned.Floats(n * c), XN = Pinned.Floats(n * c), Q = Pinned.Floats(n * qWidth), A = Pinned.Floats(n * qWidth),
            G = Pinned.Floats(n * f), U = Pinned.Floats(n * f), Rstd = Pinned.Floats(n), Lse = Pinned.Floats(heads * n);
    }

    ReadOnlySpan<float> Finish()
    {
        Norm(x, w.Norm, xb);
        lmHead.Run(team);
        return logits;
    }

    void CheckRoom(int n)
    {
        if (Length + n > Context) throw new InvalidOperationException($"{Length} + {n} positions do not fit the context of {Context}");
    }

    void CheckToken(int token)
    {
        if ((uint)token >= (uint)Config.VocabSize) throw new ArgumentOutOfRangeException(nameof(token), $"token id {token} is outside the vocabulary of {Config.VocabSize}");
    }

    // The same float32 steps as RmsNorm.Forward, for one row.
    void Norm(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, Span<float> y)
    {
        float s = (float)(1.0 / Math.Sqrt((double)TensorPrimitives.SumOfSquares(input) / c + eps));
        TensorPrimitives.Multiply(input, s, y);
        TensorPrimitives.Multiply(y, weight, y);
    }

    // att = attention of q over the cached positions the query at pos sees (the last window of them with a sliding window).
    void Attend(int layer, int pos)
    {
        int first = window > 0 ? Math.Max(0, pos - window + 1) : 0, count = pos - first + 1;
        int chunks = count * kvWidth >= AttentionFloatsToSplit ? attention.MaxChunks : 1;
        cache.Attend(attention, team, chunks, layer, first, count, Ptr(q), Ptr(att));
    }

    public void Dispose()
    {
        team.Dispose();
        w.Dispose();
    }
}
