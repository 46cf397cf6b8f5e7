using DrICL.Kernels;
using DrICL.Kernels.Profiling;
using DrICL.Model.Autograd;

namespace DrICL.Model;

/// <summary>
/// A Llama/Mistral decoder: token embedding, pre-norm blocks of grouped-query attention with RoPE and a
/// SwiGLU MLP, a final RMSNorm and the lm_head (the embedding when tied). Parameters carry Hugging Face
/// names and layouts ([out,in] for linear weights) so checkpoints load and save without renaming.
/// </summary>
public sealed class Transformer
{
    readonly DecoderLayer<Var, Var>[] blocks;
    readonly Var embed, norm, lmHead;

    public ModelConfig Config { get; }
    public IDevice Device { get; }
    /// <summary>Every trainable parameter, in checkpoint order, by Hugging Face name.</summary>
    public IReadOnlyList<(string Name, Var Value)> Parameters { get; }

    /// <summary>Builds the model from a weight source: read(name, shape) returns that tensor's float32 values.</summary>
    public Transformer(ModelConfig config, IDevice device, Func<string, int[], float[]> read)
    {
        Config = config;
        Device = device;
        var parameters = new List<(string, Var)>();
        Var Param(CheckpointTensor t)
        {
            var values = read(t.Name, t.Shape);
            if (values.Length != Tensor.SizeOf(t.Shape)) throw new ArgumentException($"{t.Name}: {values.Length} values for shape {Tensor.Format(t.Shape)}");
            var v = new Var(device.Upload(values, t.Shape), requiresGrad: true);
            parameters.Add((t.Name, v));
            return v;
        }

        var weights = new CheckpointLayout(config).Build(Param, Param);
        (embed, blocks, norm, lmHead) = (weights.Embedding, weights.Layers, weights.Norm, weights.LmHead);
        Parameters = parameters;
    }

    /// <summary>The lm_head [V,C] (the embedding when tied): Hidden(...) @ LmHeadᵀ are the logits.</summary>
    public Var LmHead => lmHead;

    /// <summary>
    /// Logits [B*T, V] = Hidden(...) @ LmHeadᵀ, for generation, evaluation and the reference check. Training
    /// never builds them: it takes Hidden and the chunked Ops.LinearCrossEntropy, which never holds [N,V].
    /// </summary>
    public Var Forward(Tape tape, int[] ids, int[] positions, int batch, int seq,
        int[]? segmentIds = null, PrefixVisibility prefix = PrefixVisibility.All, int[]? sequenceIds = null, KvCache? cache = null, bool lastOnly = false)
    {
        var hidden = Hidden(tape, ids, positions, batch, seq, segmentIds, prefix, sequenceIds, cache, lastOnly);
        using var range = Profiler.Module("lm_head");
        return Ops.Linear(tape, hidden, lmHead);   // logits: [N,V]
    }

    /// <summary>
    /// The final normed hidden states [B*T, C] for tokens ids [B*T] at positions [B*T]. With segmentIds the
    /// demonstration-isolating mask applies (the zero-shot forward); with sequenceIds, episodes packed into one row
    /// do not see each other. With a cache (batch 1, no gradients) the new tokens' keys and values are appended and
    /// attention reads every cached position; lastOnly keeps only the final row.
    /// </summary>
    public Var Hidden(Tape tape, int[] ids, int[] positions, int batch, int seq,
        int[]? segmentIds = null, PrefixVisibility prefix = PrefixVisibility.All, int[]? sequenceIds = null, KvCache? cache = null, bool lastOnly = false)
    {
        if (ids.Length != batch * seq || positions.Length != ids.Length)
            throw new ArgumentException($"{ids.Length} ids and {positions.Length} positions for batch {batch} x {seq}");
        if (cache is not null && (batch != 1 || tape.Recording))
            throw new ArgumentException("a KV cache serves one sequence without gradients");

        var cfg = Config;
        int h = cfg.Heads, kv = cfg.KvHeads, hd = cfg.HeadDim;
        int past = cache?.Length ?? 0;
        var shape = new AttentionShape(batch, seq, past + seq, h, kv, hd, past);
        var mask = new AttentionMask(cfg.SlidingWindow ?? 0, segmentIds, prefix, sequenceIds);

        using var forward = Profiler.Range("forward");
        var embedding = Profiler.Module("embedding");
        var x = Ops.Embedding(tape, embed, ids);                               // x: [N,C]
        embedding.Dispose();
        for (int l = 0; l < blocks.Length; l++)
        {
            using var layer = Profiler.Module("layer", l);
            var attention = Profiler.Module("attention");
            var b = blocks[l];
            var hn = Ops.RmsNorm(tape, x, b.InputNorm, cfg.RmsNormEps);
            var q = Ops.Rope(tape, Ops.Linear(tape, hn, b.Q), positions, batch, seq, h, hd, cfg.Rope);   // q: [N, H*D]
            var k = Ops.Rope(tape, Ops.Linear(tape, hn, b.K), positions, batch, seq, kv, hd, cfg.Rope);  // k: [N, KV*D]
            var v = Ops.Linear(tape, hn, b.V);                                                                 // v: [N, KV*D]
            if (cache is not null) (k, v) = cache.Append(l, k.Value, v.Value);
            var attn = Ops.Attention(tape, q, k, v, shape, mask);                  // attn: [N, H*D]
            x = Ops.Add(tape, x, Ops.Linear(tape, attn, b.O));
            attention.Dispose();
            using var mlpRange = Profiler.Module("mlp");
            hn = Ops.RmsNorm(tape, x, b.PostNorm, cfg.RmsNormEps);
            var mlp = Ops.SwiGlu(tape, Ops.Linear(tape, hn, b.Gate), Ops.Linear(tape, hn, b.Up));  // mlp: [N,F]
            x = Ops.Add(tape, x, Ops.Linear(tape, mlp, b.Down));
        }
        cache?.Advance(seq);
        if (lastOnly) x = new Var(x.Value.SliceRows(x.Rows - 1, 1));
        using var finalNorm = Profiler.Module("norm");
        return Ops.RmsNorm(tape, x, norm, cfg.RmsNormEps);                     // hidden: [N,C]
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in Parameters) if (p.Grad is not null) Device.Fill(p.Grad, 0f);
    }

    public long ParameterCount => Parameters.Sum(p => (long)p.Value.Value.Length);
}
