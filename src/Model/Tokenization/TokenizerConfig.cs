using System.Text.Json;

namespace DrICL.Model.Tokenization;

/// <summary>Fields of a Hugging Face tokenizer_config.json.</summary>
internal static class TokenizerConfig
{
    /// <summary>A special token's string: tokenizer_config.json writes either "&lt;s&gt;" or {"content": "&lt;s&gt;", ...}; null when absent.</summary>
    public static string? TokenName(JsonElement config, string field)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty(field, out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        return v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
            ? content.GetString()
            : null;
    }
}
