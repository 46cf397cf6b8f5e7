using System.Globalization;
using DrICL.Model;
using DrICL.Model.Safetensors;
using DrICL.Training.Optimization;

namespace DrICL.Training;

/// <summary>
/// A training checkpoint in one safetensors file: the model's parameters under their Hugging Face names,
/// the AdamW moments under optimizer.*, and the step and data position in the metadata. The writer goes
/// through a temporary file and a rename, so a crash leaves the previous checkpoint intact.
/// </summary>
public static class Checkpoint
{
    public const string FileName = "checkpoint.safetensors";

    public static void Save(string path, Transformer model, AdamWOptimizer optimizer, long dataPosition, IReadOnlyDictionary<string, string>? extra = null)
    {
        var tensors = model.Parameters.Select(p => SafetensorsTensor.FromFloats(p.Name, p.Value.Shape, p.Value.Value.ToArray()))
            .Concat(optimizer.State().Select(s => SafetensorsTensor.FromFloats(s.Name, s.Value.Shape, s.Value.ToArray())));
        var metadata = new Dictionary<string, string>(extra ?? new Dictionary<string, string>())
        {
            ["format"] = "dricl-checkpoint",
            ["step"] = optimizer.Step.ToString(CultureInfo.InvariantCulture),
            ["data_position"] = dataPosition.ToString(CultureInfo.InvariantCulture),
        };
        SafetensorsWriter.Write(path, tensors, metadata);
    }

    /// <summary>Restores parameters and optimizer state in place; returns the data position to continue from.</summary>
    public static long Restore(string path, Transformer model, AdamWOptimizer optimizer)
    {
        using var file = new SafetensorsFile(path);
        if (!file.Metadata.TryGetValue("format", out var format) || format != "dricl-checkpoint")
            throw new InvalidDataException($"{path}: not a DrICL training checkpoint (no format=dricl-checkpoint metadata)");
        foreach (var (name, p) in model.Parameters)
        {
            if (!file.Tensors.TryGetValue(name, out var info)) throw new InvalidDataException($"{path}: missing parameter {name}");
            if (!info.Shape.SequenceEqual(p.Shape)) throw new InvalidDataException($"{path}: {name} has shape {Kernels.Tensor.Format(info.Shape)}, the model needs {Kernels.Tensor.Format(p.Shape)}");
            p.Value.Device.Copy(p.Value.Device.Upload(file.ReadFloats(name), p.Shape), p.Value);
        }
        long step = ReadLong(file, path, "step");
        if (step > int.MaxValue) throw new InvalidDataException($"{path}: step {step} out of range");
        optimizer.Restore((int)step, name => file.Tensors.ContainsKey(name) ? file.ReadFloats(name) : throw new InvalidDataException($"{path}: missing optimizer state {name}"));
        return ReadLong(file, path, "data_position");
    }

    /// <summary>The settings a checkpoint was written with (its metadata without the format, step and data position).</summary>
    public static Dictionary<string, string> Settings(string path)
    {
        using var file = new SafetensorsFile(path);
        return file.Metadata.Where(kv => kv.Key is not ("format" or "step" or "data_position")).ToDictionary();
    }

    static long ReadLong(SafetensorsFile file, string path, string key) =>
        file.Metadata.TryGetValue(key, out var v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) && x >= 0
            ? x : throw new InvalidDataException($"{path}: metadata '{key}' is missing or not a non-negative integer");
}
