using System.Text.Json;

namespace DrICL.Model.Safetensors;

/// <summary>
/// The weights of a Hugging Face model folder, by tensor name: either one <c>model.safetensors</c>, or
/// shards listed by <c>model.safetensors.index.json</c>, whose <c>weight_map</c> maps each tensor name
/// to the shard file holding it. Only the tensors the index lists are presented.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    readonly List<SafetensorsFile> files;
    readonly Dictionary<string, SafetensorsFile> fileOf;

    public string Folder { get; }
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    SafetensorsCheckpoint(string folder, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> fileOf)
    {
        Folder = folder;
        this.files = files;
        this.fileOf = fileOf;
        Tensors = fileOf.ToDictionary(kv => kv.Key, kv => kv.Value.Tensors[kv.Key]);
    }

    public static SafetensorsCheckpoint Open(string folder)
    {
        string index = Path.Combine(folder, IndexFileName);
        if (File.Exists(index)) return OpenSharded(folder, index);
        string single = Path.Combine(folder, SingleFileName);
        if (!File.Exists(single))
            throw new SafetensorsException(folder, $"neither {SingleFileName} nor {IndexFileName} found");
        var file = new SafetensorsFile(single);
        return new(folder, [file], file.Tensors.Keys.ToDictionary(name => name, _ => file));
    }

    static SafetensorsCheckpoint OpenSharded(string folder, string index)
    {
        var shardOf = ReadWeightMap(index);
        var files = new List<SafetensorsFile>();
        try
        {
            var opened = new Dictionary<string, SafetensorsFile>();
            var fileOf = new Dictionary<string, SafetensorsFile>();
            foreach (var (name, shard) in shardOf)
            {
                if (!opened.TryGetValue(shard, out var file))
                {
                    string path = Path.Combine(folder, shard);
                    if (!File.Exists(path))
                        throw new SafetensorsException(index, $"shard '{shard}' (holding '{name}') does not exist");
                    files.Add(file = new SafetensorsFile(path));
                    opened.Add(shard, file);
                }
                if (!file.Tensors.ContainsKey(name))
                    throw new SafetensorsException(index, $"tensor '{name}' is not in its shard '{shard}'");
                fileOf.Add(name, file);
            }
            return new(folder, files, fileOf);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    static Dictionary<string, string> ReadWeightMap(string index)
    {
        JsonDocument doc;
        InputFile.RequireRegular(index, maxBytes: 1 << 28);
        try { doc = JsonDocument.Parse(File.ReadAllBytes(index)); }
        catch (JsonException e) { throw new SafetensorsException(index, $"not valid JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object ||
                !doc.RootElement.TryGetProperty("weight_map", out var weightMap) || weightMap.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException(index, "no weight_map object");
            var shardOf = new Dictionary<string, string>();
            foreach (var entry in weightMap.EnumerateObject())
            {
                // A shard must be a file in this folder: no paths, so an index cannot point elsewhere.
                string? shard = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString() : null;
                if (string.IsNullOrEmpty(shard) || shard != Path.GetFileName(shard) || shard is "." or "..")
                    throw new SafetensorsException(index, $"weight_map entry '{entry.Name}' is not a file name: {entry.Value.GetRawText()}");
                if (!shardOf.TryAdd(entry.Name, shard))
                    throw new SafetensorsException(index, $"duplicate tensor name '{entry.Name}' in weight_map");
            }
            return shardOf;
        }
    }

    public TensorInfo Info(string name) => FileOf(name).Info(name);
    public float[] ReadFloats(string name) => FileOf(name).ReadFloats(name);
    public void ReadFloats(string name, Span<float> destination) => FileOf(name).ReadFloats(name, destination);
    public int[] ReadInts(string name) => FileOf(name).ReadInts(name);
    /// <summary>The raw bytes of a tensor in its mapped shard, valid until Dispose.</summary>
    public unsafe byte* Address(string name) => FileOf(name).Address(name);

    SafetensorsFile FileOf(string name) =>
        fileOf.TryGetValue(name, out var file) ? file : throw new SafetensorsException(Folder, $"no tensor named '{name}'");

    public void Dispose()
    {
        foreach (var f in files) f.Dispose();
    }
}
