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
        return Load(config, folder, device);
    }

    /// <summary>Loads weights from a .safetensors file, or a folder holding model.safetensors or model.safetensors.index.json.</summary>
    public static Transformer Load(ModelConfig config, string weights, IDevice device)
    {
        throw new NotImplementedException();
    }
}
