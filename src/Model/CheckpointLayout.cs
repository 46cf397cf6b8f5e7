using DrICL.Kernels;
using DrICL.Model.Safetensors;

namespace DrICL.Model;

/// <summary>One tensor of a checkpoint: its Hugging Face name and shape ([out,in] for a linear weight, [C] for a norm).</summary>
public sealed record CheckpointTensor(string Name, int[] Shape);

/// <summary>A decoder layer's weights by role, in checkpoint order: the attention's pre-norm and projections, then the MLP's.</summary>
public sealed record DecoderLayer<TNorm, TMatrix>(TNorm InputNorm, TMatrix Q, TMatrix K, TMatrix V, TMatrix O,
    TNorm PostNorm, TMatrix Gate, TMatrix Up, TMatrix Down);

/// <summary>A decoder's weights by role; LmHead is the Embedding itself when the config ties them.</summary>
public sealed record DecoderWeights<TNorm, TMatrix>(TMatrix Embedding, DecoderLayer<TNorm, TMatrix>[] Layers, TNorm Norm, TMatrix LmHead);

/// <summary>
/// The tensors of a Llama/Mistral checkpoint for a config, by Hugging Face name and shape: the one place that spells
/// them. The training model (whose parameters ModelSaver writes), the inference loader and the decode benchmark's
/// random checkpoints are built from it, and both loaders check a file against it with the same one-line errors.
/// </summary>
public sealed class CheckpointLayout
{
    const string LmHeadName = "lm_head.weight";

    readonly ModelConfig config;

    public CheckpointTensor Embedding { get; }                                  // [V,C]
    public DecoderLayer<CheckpointTensor, CheckpointTensor>[] Layers { get; }
    public CheckpointTensor Norm { get; }                                       // [C]
    /// <summary>The lm_head [V,C]; null when tied (the embedding serves).</summary>
    public CheckpointTensor? LmHead { get; }

    public CheckpointLayout(ModelConfig config)
    {
        this.config = config;
        int c = config.HiddenSize, f = config.IntermediateSize, qd = config.Heads * config.HeadDim, kvd = config.KvHeads * config.HeadDim;
        Embedding = new("model.embed_tokens.weight", [config.VocabSize, c]);
        Layers = new DecoderLayer<CheckpointTensor, CheckpointTensor>[config.Layers];
        for (int l = 0; l < config.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            Layers[l] = new(
                new(p + "input_layernorm.weight", [c]),
                new(p + "self_attn.q_proj.weight", [qd, c]),
                new(p + "self_attn.k_proj.weight", [kvd, c]),
                new(p + "self_attn.v_proj.weight", [kvd, c]),
                new(p + "self_attn.o_proj.weight", [c, qd]),
                new(p + "post_attention_layernorm.weight", [c]),
                new(p + "mlp.gate_proj.weight", [f, c]),
                new(p + "mlp.up_proj.weight", [f, c]),
                new(p + "mlp.down_proj.weight", [c, f]));
        }
        Norm = new("model.norm.weight", [c]);
        LmHead = config.TieWordEmbeddings ? null : new(LmHeadName, [config.VocabSize, c]);
    }

    /// <summary>Every tensor in checkpoint order: the embedding, each layer's nine, the final norm, the lm_head unless tied.</summary>
    public IEnumerable<CheckpointTensor> Tensors
    {
        get
        {
            yield return Embedding;
            foreach (var l in Layers)
                foreach (var t in new[] { l.InputNorm, l.Q, l.K, l.V, l.O, l.PostNorm, l.Gate, l.Up, l.Down }) yield return t;
            yield return Norm;
            if (LmHead is not null) yield return LmHead;
        }
    }

    /// <summary>A model's weights made tensor by tensor in checkpoint order (norm for the vectors, matrix for the rest).</summary>
    public DecoderWeights<TNorm, TMatrix> Build<TNorm, TMatrix>(Func<CheckpointTensor, TNorm> norm, Func<CheckpointTensor, TMatrix> matrix)
    {
        var embedding = matrix(Embedding);
        var layers = Layers.Select(l => new DecoderLayer<TNorm, TMatrix>(norm(l.InputNorm), matrix(l.Q), matrix(l.K), matrix(l.V), matrix(l.O),
            norm(l.PostNorm), matrix(l.Gate), matrix(l.Up), matrix(l.Down))).ToArray();
        var final = norm(Norm);
        return new(embedding, layers, final, LmHead is null ? embedding : matrix(LmHead));
    }

    /// <summary>The entry of tensor `name` in a file's tensors, refused in one line naming the source unless it has `shape`.</summary>
    public static TensorInfo Find(string source, IReadOnlyDictionary<string, TensorInfo> tensors, string name, int[] shape)
    {
        if (!tensors.TryGetValue(name, out var info)) throw new InvalidDataException($"{source}: missing weight {name}");
        if (!info.Shape.SequenceEqual(shape))
            throw new InvalidDataException($"{source}: {name} has shape {Tensor.Format(info.Shape)}, config.json implies {Tensor.Format(shape)}");
        return info;
    }

    /// <summary>Refuses a file holding tensors this layout has no place for, naming the first five.</summary>
    public void RejectUnused(string source, IEnumerable<string> names)
    {
        var expected = Tensors.Select(t => t.Name).ToHashSet();
        // Tied checkpoints sometimes still carry a copy of lm_head; anything else unused means a config mismatch.
        var extra = names.Where(n => !expected.Contains(n) && !(config.TieWordEmbeddings && n == LmHeadName)).ToList();
        if (extra.Count > 0) throw new InvalidDataException($"{source}: weights not used by this {config.ModelType} config: {string.Join(", ", extra.Take(5))}{(extra.Count > 5 ? ", …" : "")}");
    }
}
