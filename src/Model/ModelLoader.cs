using System.Globalization;
using System.Numerics;
using DrICL.Kernels;
using DrICL.Model.Safetensors;

namespace DrICL.Model;

/// <summary>
/// Builds a Transformer from Hugging Face files: config.json plus one safetensors file or a sharded index.
/// Weights holding NaN or Inf are refused (naming the tensor) unless allowNonFinite: such a model would
/// train or score on silently, an unused embedding row included.
/// </summary>
public static class ModelLoader
{
    /// <summary>Loads config.json and the weights of a Hugging Face model folder.</summary>
    public static Transformer LoadFolder(string folder, IDevice device, bool allowNonFinite = false)
    {
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        using var checkpoint = SafetensorsCheckpoint.Open(folder);
        return FromTensors(config, checkpoint.Folder, checkpoint.Tensors, checkpoint.ReadFloats, device, allowNonFinite);
    }

    /// <summary>Loads the weights of one .safetensors file.</summary>
    public static Transformer Load(ModelConfig config, string file, IDevice device, bool allowNonFinite = false)
    {
        using var weights = new SafetensorsFile(file);
        return FromTensors(config, file, weights.Tensors, weights.ReadFloats, device, allowNonFinite);
    }

    static Transformer FromTensors(ModelConfig config, string source, IReadOnlyDictionary<string, TensorInfo> tensors, Func<string, float[]> read, IDevice device, bool allowNonFinite)
    {
        var model = new Transformer(config, device, (name, shape) =>
        {
            CheckpointLayout.Find(source, tensors, name, shape);
            var values = read(name);
            if (!allowNonFinite && FirstNonFinite(values) is int i)
                throw new InvalidDataException($"{source}: weight {name} holds a non-finite value ({values[i].ToString(CultureInfo.InvariantCulture)} at element {i}); --allow-nonfinite loads it anyway");
            return values;
        });
        new CheckpointLayout(config).RejectUnused(source, tensors.Keys);
        return model;
    }

    /// <summary>The index of the first NaN or ±Inf, or null; x - x is 0 exactly when x is finite.</summary>
    public static int? FirstNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        for (; i + Vector<float>.Count <= values.Length; i += Vector<float>.Count)
        {
            var v = new Vector<float>(values[i..]);
            if (!Vector.EqualsAll(v - v, Vector<float>.Zero)) break;
        }
        for (; i < values.Length; i++) if (!float.IsFinite(values[i])) return i;
        return null;
    }
}
