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
    readonly SafetensorsCheckpoint checkpoint;
    readonly List<Array> pinned = [];  // keeps converted matrices alive (and unmoved) as long as the pointers are used

    public ModelConfig Config { get; }
    public WeightFormat Format { get; }
    public WeightMatrix Embedding { get; }
    public DecoderLayer<float[], WeightMatrix>[] Layers { get; }
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
            var layout = new CheckpointLayout(Config);
            float[] Vector(CheckpointTensor t)
            {
                CheckpointLayout.Find(folder, checkpoint.Tensors, t.Name, t.Shape);
                return checkpoint.ReadFloats(t.Name);
            }
            WeightMatrix Matrix(CheckpointTensor t)
            {
                var info = CheckpointLayout.Find(folder, checkpoint.Tensors, t.Name, t.Shape);
                int rows = t.Shape[0], cols = t.Shape[1];
                if (format == WeightFormat.Bf16 && info.DType == DType.BF16)
                {
                    MappedBytes += (long)rows * cols * 2;
                    return new WeightMatrix(rows, cols, format, checkpoint.Address(t.Name));
                }
                if (format == WeightFormat.F32)
                {
                    var floats = GC.AllocateUninitializedArray<float>(rows * cols, pinned: true);
                    checkpoint.ReadFloats(t.Name, floats);
                    return new WeightMatrix(rows, cols, format, Pin(floats));
                }
                var values = checkpoint.ReadFloats(t.Name);
                var halves = GC.AllocateUninitializedArray<ushort>(values.Length, pinned: true);
                Bf16.FromFloats(values, halves);
                return new WeightMatrix(rows, cols, format, Pin(halves));
            }

            var weights = layout.Build(Vector, Matrix);
            (Embedding, Layers, Norm, LmHead) = (weights.Embedding, weights.Layers, weights.Norm, weights.LmHead);
            layout.RejectUnused(folder, checkpoint.Tensors.Keys);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>The matrices a decode step reads whole, in the order it reads them: every layer's, then the lm_head.</summary>
    public IEnumerable<WeightMatrix> StepMatrices => Layers.SelectMany(l => new[] { l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down }).Append(LmHead);

    /// <summary>Bytes of weights a decode step reads: StepMatrices and one embedding row.</summary>
    public long BytesPerToken => StepMatrices.Sum(m => m.Bytes) + Embedding.Bytes / Embedding.Rows;

    /// <summary>The address of an array allocated on the pinned heap (it never moves), kept alive with this object.</summary>
    void* Pin<T>(T[] values) where T : unmanaged
    {
        pinned.Add(values);
        return Pinned.Address(values);
    }

    public void Dispose() => checkpoint.Dispose();
}
