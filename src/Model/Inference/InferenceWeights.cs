using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Model.Safetensors;

namespace DrICL.Model.Inference;

/// <summary>
/// The weights of a model folder laid out for batch-1 inference. Matrices (the embedding, every linear
/// layer, the lm_head) are kept in the requested format: bf16 tensors of a bf16 checkpoint are used in
/// place in the memory-mapped file (nothing is copied: a 7B model costs its file's page cache, not twice
/// that), anything else is converted once into a pinned array. Norm weights are float32.
/// </summary>
public sealed unsafe class InferenceWeights : IDisposable
{
    public sealed record Layer(float[] InputNorm, WeightMatrix Q, WeightMatrix K, WeightMatrix V, WeightMatrix O,
        float[] PostNorm, WeightMatrix Gate, WeightMatrix Up, WeightMatrix Down);

    readonly SafetensorsCheckpoint checkpoint;
    readonly List<Array> pinned = [];  // keeps converted matrices alive (and unmoved) as long as the pointers are used

    public ModelConfig Config { get; }
    public WeightFormat Format { get; }
    public WeightMatrix Embedding { get; }
    public Layer[] Layers { get; }
    public float[] Norm { get; }
    public WeightMatrix LmHead { get; }
    /// <summary>Bytes of matrices read in place from the mapped file.</summary>
    public long MappedBytes { get; private set; }

    public InferenceWeights(string folder, WeightFormat format)
    {
        Config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        Format = format;
        checkpoint = SafetensorsCheckpoint.Open(folder);
        try
        {
            var used = new HashSet<string>();
            var cfg = Config;
            int c = cfg.HiddenSize, f = cfg.IntermediateSize, qd = cfg.Heads * cfg.HeadDim, kvd = cfg.KvHeads * cfg.HeadDim;
            TensorInfo Check(string name, params int[] shape)
            {
                if (!checkpoint.Tensors.TryGetValue(name, out var info)) throw new InvalidDataException($"{folder}: missing weight {name}");
                if (!info.Shape.SequenceEqual(shape))
                    throw new InvalidDataException($"{folder}: {name} has shape {Tensor.Format(info.Shape)}, config.json implies {Tensor.Format(shape)}");
                used.Add(name);
                return info;
            }
            float[] Vector(string name, int n)
            {
                Check(name, n);
                return checkpoint.ReadFloats(name);
            }
            WeightMatrix Matrix(string name, int rows, int cols)
            {
                var info = Check(name, rows, cols);
                if (format == WeightFormat.Bf16 && info.DType == DType.BF16)
                {
                    MappedBytes += (long)rows * cols * 2;
                    return new WeightMatrix(rows, cols, format, checkpoint.Address(name));
                }
                if (format == WeightFormat.F32)
                {
                    var floats = GC.AllocateUninitializedArray<float>(rows * cols, pinned: true);
                    checkpoint.ReadFloats(name, floats);
                    return new WeightMatrix(rows, cols, format, Pin(floats));
                }
                var values = checkpoint.ReadFloats(name);
                var halves = GC.AllocateUninitializedArray<ushort>(values.Length, pinned: true);
                Bf16.FromFloats(values, halves);
                return new WeightMatrix(rows, cols, format, Pin(halves));
            }

            Embedding = Matrix("model.embed_tokens.weight", cfg.VocabSize, c);
            Layers = new Layer[cfg.Layers];
            for (int l = 0; l < cfg.Layers; l++)
            {
                string p = $"model.layers.{l}.";
                Layers[l] = new Layer(
                    Vector(p + "input_layernorm.weight", c),
                    Matrix(p + "self_attn.q_proj.weight", qd, c),
                    Matrix(p + "self_attn.k_proj.weight", kvd, c),
                    Matrix(p + "self_attn.v_proj.weight", kvd, c),
                    Matrix(p + "self_attn.o_proj.weight", c, qd),
                    Vector(p + "post_attention_layernorm.weight", c),
                    Matrix(p + "mlp.gate_proj.weight", f, c),
                    Matrix(p + "mlp.up_proj.weight", f, c),
                    Matrix(p + "mlp.down_proj.weight", c, f));
            }
            Norm = Vector("model.norm.weight", c);
            LmHead = cfg.TieWordEmbeddings ? Embedding : Matrix("lm_head.weight", cfg.VocabSize, c);
            var extra = checkpoint.Tensors.Keys.Where(n => !used.Contains(n) && !(cfg.TieWordEmbeddings && n == "lm_head.weight")).ToList();
            if (extra.Count > 0) throw new InvalidDataException($"{folder}: weights not used by this {cfg.ModelType} config: {string.Join(", ", extra.Take(5))}{(extra.Count > 5 ? ", …" : "")}");
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>Bytes of weights a decode step reads: every layer's matrices, the lm_head and one embedding row.</summary>
    public long BytesPerToken => Layers.Sum(l => l.Q.Bytes + l.K.Bytes + l.V.Bytes + l.O.Bytes + l.Gate.Bytes + l.Up.Bytes + l.Down.Bytes)
        + LmHead.Bytes + Embedding.Bytes / Embedding.Rows;

    /// <summary>The address of an array allocated on the pinned heap (it never moves), kept alive with this object.</summary>
    void* Pin<T>(T[] values) where T : unmanaged
    {
        pinned.Add(values);
        return System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(values));
    }

    public void Dispose() => checkpoint.Dispose();
}
