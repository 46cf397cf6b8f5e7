using System.Text.Json;
using System.Text.Unicode;

namespace DrICL.Model.Safetensors;

/// <summary>
/// Parses and validates the JSON header of a safetensors file: every entry well-formed, every size
/// consistent with its dtype and shape, and the data region indexed exactly once (no overlaps, gaps
/// or trailing bytes, as the format requires). Nothing is allocated from a length the file claims
/// until it has been checked against the real file size.
/// </summary>
static class SafetensorsHeader
{
    /// <summary>The Rust reference implementation's cap; real headers are a few hundred kilobytes.</summary>
    public const long MaxLength = 100_000_000;

    public static (Dictionary<string, TensorInfo> Tensors, Dictionary<string, string> Metadata) Parse(
        byte[] json, long dataLength, string file)
    {
        // JsonDocument only decodes strings when asked, so check the encoding up front.
        if (!Utf8.IsValid(json)) throw new SafetensorsException(file, "header is not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new SafetensorsException(file, $"header is not valid JSON ({e.Message})"); }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException(file, $"header is a JSON {root.ValueKind}, not an object");

            var tensors = new Dictionary<string, TensorInfo>();
            var metadata = new Dictionary<string, string>();
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == "__metadata__") { ParseMetadata(property.Value, metadata, file); continue; }
                if (tensors.ContainsKey(property.Name))
                    throw new SafetensorsException(file, $"duplicate tensor name '{property.Name}'");
                tensors.Add(property.Name, ParseEntry(property.Name, property.Value, dataLength, file));
            }
            CheckFullyIndexed(tensors.Values, dataLength, file);
            return (tensors, metadata);
        }
    }

    static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, string file)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsException(file, "__metadata__ is not an object of strings");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsException(file, $"__metadata__ value '{entry.Name}' is not a string");
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    static TensorInfo ParseEntry(string name, JsonElement entry, long dataLength, string file)
    {
        SafetensorsException Bad(string problem) => new(file, $"tensor '{name}': {problem}");

        if (entry.ValueKind != JsonValueKind.Object) throw Bad("entry is not an object");
        if (!entry.TryGetProperty("dtype", out var dtypeJson)) throw Bad("missing dtype");
        if (!entry.TryGetProperty("shape", out var shapeJson)) throw Bad("missing shape");
        if (!entry.TryGetProperty("data_offsets", out var offsetsJson)) throw Bad("missing data_offsets");

        if (dtypeJson.ValueKind != JsonValueKind.String) throw Bad("dtype is not a string");
        var dtype = DTypes.Parse(dtypeJson.GetString()!)
            ?? throw Bad($"unsupported dtype '{dtypeJson.GetString()}' (supported: {string.Join(", ", Enum.GetNames<DType>())})");

        if (shapeJson.ValueKind != JsonValueKind.Array) throw Bad("shape is not an array");
        var shape = new int[shapeJson.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeJson.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out shape[i]) || shape[i] < 0)
                throw Bad($"shape dimension {d.GetRawText()} is not a non-negative 32-bit integer");
            i++;
        }

        if (offsetsJson.ValueKind != JsonValueKind.Array || offsetsJson.GetArrayLength() != 2)
            throw Bad("data_offsets is not an array [begin, end]");
        var (beginJson, endJson) = (offsetsJson[0], offsetsJson[1]);
        if (beginJson.ValueKind != JsonValueKind.Number || !beginJson.TryGetInt64(out long begin) || begin < 0 ||
            endJson.ValueKind != JsonValueKind.Number || !endJson.TryGetInt64(out long end) || end < 0)
            throw Bad($"data_offsets {offsetsJson.GetRawText()} are not non-negative integers");
        if (end < begin) throw Bad($"data_offsets end {end} is before begin {begin}");
        if (end > dataLength) throw Bad($"data_offsets [{begin}, {end}] run past the {dataLength}-byte data region");

        long? needed = ByteSize(shape, dtype);
        if (needed != end - begin)
            throw Bad($"shape [{string.Join(",", shape)}] of {dtype} needs {needed?.ToString() ?? "too many"} bytes but data_offsets span {end - begin}");
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /// <summary>Bytes of a tensor, or null when that would overflow (no real file is that large).</summary>
    static long? ByteSize(int[] shape, DType dtype)
    {
        if (shape.Contains(0)) return 0;
        long n = dtype.Size();
        foreach (var d in shape)
        {
            if (n > long.MaxValue / d) return null;
            n *= d;
        }
        return n;
    }

    static void CheckFullyIndexed(IEnumerable<TensorInfo> tensors, long dataLength, string file)
    {
        long covered = 0;
        TensorInfo? previous = null;
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin < covered)
                throw new SafetensorsException(file, $"tensor '{t.Name}' [{t.Begin}, {t.End}] overlaps tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            if (t.Begin > covered)
                throw new SafetensorsException(file, $"gap in the data region: bytes [{covered}, {t.Begin}) before tensor '{t.Name}' belong to no tensor");
            covered = t.End;
            previous = t;
        }
        if (covered != dataLength)
            throw new SafetensorsException(file, $"{dataLength - covered} trailing bytes after the last tensor belong to no tensor");
    }
}
