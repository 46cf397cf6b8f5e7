using DrICL.Kernels;
using DrICL.Model.Safetensors;

namespace DrICL.Model;

/// <summary>Builds a Transformer from Hugging Face files: config.json plus one safetensors file or a sharded index.</summary>
public static class ModelLoader
{
    /// <summary>Loads config.json and the weights of a Hugging Face model folder.</summary>
    public static Transformer LoadFolder(string folder, IDevice device)
    {
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        using var checkpoint = SafetensorsCheckpoint.Open(folder);
        return FromTensors(config, checkpoint.Folder, checkpoint.Tensors, checkpoint.ReadFloats, device);
    }

    /// <summary>Loads the weights of one .safetensors file.</summary>
    public static Transformer Load(ModelConfig config, string file, IDevice device)
    {
        using var weights = new SafetensorsFile(file);
        return FromTensors(config, file, weights.Tensors, weights.ReadFloats, device);
    }

    static Transformer FromTensors(ModelConfig config, string source, IReadOnlyDictionary<string, TensorInfo> tensors, Func<string, float[]> read, IDevice device)
    {
        var used = new HashSet<string>();
        var model = new Transformer(config, device, (name, shape) =>
        {
            if (!tensors.TryGetValue(name, out var info)) throw new InvalidDataException($"{source}: missing weight {name}");
            if (!info.Shape.SequenceEqual(shape))
                throw new InvalidDataException($"{source}: {name} has shape {Tensor.Format(info.Shape)}, config.json implies {Tensor.Format(shape)}");
            used.Add(name);
            return read(name);
        });
        // Tied checkpoints sometimes still carry a copy of lm_head; anything else unused means a config mismatch.
        var extra = tensors.Keys.Where(n => !used.Contains(n) && !(config.TieWordEmbeddings && n == "lm_head.weight")).ToList();
        if (extra.Count > 0) throw new InvalidDataException($"{source}: weights not used by this {config.ModelType} config: {string.Join(", ", extra.Take(5))}{(extra.Count > 5 ? ", …" : "")}");
        return model;
    }
}
