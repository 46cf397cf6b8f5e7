using DrICL.Model.Safetensors;

namespace DrICL.Model;

/// <summary>Writes a model as a Hugging Face folder (config.json + model.safetensors) that ModelLoader.LoadFolder reads back.</summary>
public static class ModelSaver
{
    public static void SaveFolder(Transformer model, string folder)
    {
        Directory.CreateDirectory(folder);
        SafetensorsWriter.Write(Path.Combine(folder, SafetensorsCheckpoint.SingleFileName),
            model.Parameters.Select(p => SafetensorsTensor.FromFloats(p.Name, p.Value.Shape, p.Value.Value.ToArray())),
            new Dictionary<string, string> { ["format"] = "pt" });
        string config = Path.Combine(folder, "config.json");
        string temporary = config + ".tmp";
        File.WriteAllText(temporary, model.Config.ToJson());
        File.Move(temporary, config, overwrite: true);
    }
}
