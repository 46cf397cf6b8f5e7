using System.Text.Json;
using DrICL.Kernels;
using DrICL.Training.Objectives;

namespace DrICL.Training;

/// <summary>Tolerances of a golden fixture: a tensor passes when max|got - expected| &lt;= tol * max(1, max|expected|).</summary>
public sealed record Tolerances(double Logits, double Loss, double Grad, double Param);

/// <summary>The case.json of a golden fixture folder: batch shape, DrICL and AdamW settings, tolerances.</summary>
public sealed record ReferenceCase(int Batch, int SeqLen, DrIclOptions DrIcl, AdamWConfig AdamW, float MaxGradNorm, int Steps, Tolerances Tolerances)
{
    public static ReferenceCase Load(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            var d = Get(root, "dricl");
            var a = Get(root, "adamw");
            var t = Get(root, "tolerances");
            var sample = Get(d, "sample_size");
            var prefix = Get(d, "prefix_visibility").GetString() switch
            {
                "all" => PrefixVisibility.All,
                "first" => PrefixVisibility.First,
                "none" => PrefixVisibility.None,
                var other => throw new InvalidDataException($"prefix_visibility '{other}' is not all, first or none"),
            };
            return new ReferenceCase(
                Get(root, "batch").GetInt32(), Get(root, "seq_len").GetInt32(),
                new DrIclOptions(Get(d, "alpha").GetSingle(), Get(d, "gamma").GetSingle(), Get(d, "window").GetInt32(),
                    sample.ValueKind == JsonValueKind.Null ? null : sample.GetInt32(), prefix),
                new AdamWConfig(Get(a, "lr").GetSingle(), Get(a, "beta1").GetSingle(), Get(a, "beta2").GetSingle(), Get(a, "eps").GetSingle(), Get(a, "weight_decay").GetSingle()),
                Get(a, "max_grad_norm").GetSingle(), Get(a, "steps").GetInt32(),
                new Tolerances(Get(t, "logits").GetDouble(), Get(t, "loss").GetDouble(), Get(t, "grad").GetDouble(), Get(t, "param").GetDouble()));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException or InvalidDataException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    static JsonElement Get(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : throw new KeyNotFoundException($"missing field '{name}'");
}
