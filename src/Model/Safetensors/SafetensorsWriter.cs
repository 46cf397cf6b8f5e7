using System.Text.Json;

namespace DrICL.Model.Safetensors;

/// <summary>
/// Writes safetensors files: tensors in the given order with contiguous offsets, the header padded
/// with spaces so the data region starts 8-byte aligned. The file is written under a temporary name
/// in the same folder, flushed to disk, then renamed over the target, so a crash mid-write leaves the
/// previous checkpoint intact.
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        byte[] header = Header(list, metadata);
        string temp = $"{path}.{Path.GetRandomFileName()}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                BitConverter.TryWriteBytes(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var t in list) t.WriteData(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }

    /// <summary>Deletes what a crash inside <see cref="Write"/> left behind in folder: files named like its temporaries.</summary>
    public static void RemoveTemporaryFiles(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder, "*.safetensors.*.tmp")) File.Delete(file);
    }

    static byte[] Header(List<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            var names = new HashSet<string>();
            long offset = 0;
            foreach (var t in tensors)
            {
                if (!names.Add(t.Name)) throw new ArgumentException($"duplicate tensor name '{t.Name}'");
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToString());
                json.WriteStartArray("shape");
                foreach (var d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += t.ByteCount;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // 8 (length) + header must be a multiple of 8; the format allows trailing spaces in the header.
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}
