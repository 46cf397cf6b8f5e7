using System.Text.Json;

namespace DrICL.Tests.Data;

/// <summary>The I32 [B,T] tensors of a model fixture's inputs.safetensors (8-byte little-endian header length, JSON header, raw data).</summary>
static class FixtureInputs
{
    public static Dictionary<string, int[][]> Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = checked((int)BitConverter.ToUInt64(bytes, 0));
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var tensors = new Dictionary<string, int[][]>();
        foreach (var tensor in header.RootElement.EnumerateObject())
        {
            if (tensor.Name == "__metadata__") continue;
            if (tensor.Value.GetProperty("dtype").GetString() != "I32") throw new InvalidDataException($"{tensor.Name} is not I32");
            var shape = tensor.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            int begin = 8 + headerLength + tensor.Value.GetProperty("data_offsets")[0].GetInt32();
            var rows = new int[shape[0]][];
            for (int b = 0; b < shape[0]; b++)
            {
                rows[b] = new int[shape[1]];
                Buffer.BlockCopy(bytes, begin + b * shape[1] * 4, rows[b], 0, shape[1] * 4);
            }
            tensors.Add(tensor.Name, rows);
        }
        return tensors;
    }
}
