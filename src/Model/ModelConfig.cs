using DrICL.Kernels;
using System.Text;
using System.Text.Json;

namespace DrICL.Model;

/// <summary>
/// The shape and hyperparameters of a Llama or Mistral decoder, as in a Hugging Face <c>config.json</c>.
/// Mistral is Llama plus an optional sliding attention window; Llama 3 adds its RoPE scaling and may set
/// head_dim apart from hidden/heads. Features the engine does not implement (other activations, other RoPE
/// scalings, biases) are rejected rather than silently ignored.
/// </summary>
public sealed record ModelConfig
{
    static readonly string[] SupportedDtypes = ["float32", "bfloat16", "float16"];
    static readonly string[] SupportedRopeTypes = ["default", "llama3"];

    /// <summary>"llama" or "mistral".</summary>
    public string ModelType { get; }
    public int VocabSize { get; }
    public int HiddenSize { get; }
    public int IntermediateSize { get; }
    public int Layers { get; }
    public int Heads { get; }
    /// <summary>Key/value heads: Heads for multi-head attention, fewer for grouped-query, 1 for multi-query.</summary>
    public int KvHeads { get; }
    /// <summary>config.json's head_dim, else hidden_size / num_attention_heads.</summary>
    public int HeadDim { get; }
    public float RmsNormEps { get; }
    public float RopeTheta { get; }
    /// <summary>Llama 3's rope_scaling; null = plain RoPE.</summary>
    public Llama3RopeScaling? RopeScaling { get; }
    /// <summary>The inverse frequencies every attention layer rotates by, from RopeTheta, HeadDim and RopeScaling.</summary>
    public RopeFrequencies Rope { get; }
    /// <summary>Keys visible to a query, itself included; null = unlimited (plain causal).</summary>
    public int? SlidingWindow { get; }
    public bool TieWordEmbeddings { get; }
    /// <summary>The dtype the weights are stored in: "float32", "bfloat16" or "float16".</summary>
    public string TorchDtype { get; }
    public int MaxPositionEmbeddings { get; }
    public int BosTokenId { get; }
    public int EosTokenId { get; }

    public ModelConfig(int vocabSize, int hiddenSize, int intermediateSize, int layers, int heads, int? kvHeads = null,
        float rmsNormEps = 1e-5f, float ropeTheta = 10000f, int? slidingWindow = null, bool tieWordEmbeddings = false,
        string torchDtype = "float32", int maxPositionEmbeddings = 2048, int bosTokenId = 1, int eosTokenId = 2,
        string modelType = "llama", int? headDim = null, Llama3RopeScaling? ropeScaling = null)
    {
        static void Require(bool ok, string problem) { if (!ok) throw new ArgumentException(problem); }

        Require(modelType is "llama" or "mistral", $"unsupported model_type '{modelType}' (supported: llama, mistral)");
        Require(vocabSize > 0, $"vocab_size {vocabSize} is not positive");
        Require(hiddenSize > 0, $"hidden_size {hiddenSize} is not positive");
        Require(intermediateSize > 0, $"intermediate_size {intermediateSize} is not positive");
        Require(layers > 0, $"num_hidden_layers {layers} is not positive");
        Require(heads > 0, $"num_attention_heads {heads} is not positive");
        Require(kvHeads is null or > 0, $"num_key_value_heads {kvHeads} is not positive");
        Require(headDim is not null || hiddenSize % heads == 0, $"num_attention_heads {heads} does not divide hidden_size {hiddenSize}");
        Require(heads % (kvHeads ?? heads) == 0, $"num_key_value_heads {kvHeads} does not divide num_attention_heads {heads}");
        int dim = headDim ?? hiddenSize / heads;
        Require(dim > 0, $"head_dim {dim} is not positive");
        Require(dim % 2 == 0, $"head dim {dim} is odd; RoPE rotates pairs");
        Require(float.IsFinite(rmsNormEps) && rmsNormEps > 0, $"rms_norm_eps {rmsNormEps} is not positive");
        Require(float.IsFinite(ropeTheta) && ropeTheta > 0, $"rope_theta {ropeTheta} is not positive");
        Require(slidingWindow is null or > 0, $"sliding_window {slidingWindow} is not positive");
        Require(slidingWindow is null || modelType == "mistral", "sliding_window is set but llama has no sliding window");
        Require(SupportedDtypes.Contains(torchDtype), $"unsupported torch_dtype '{torchDtype}' (supported: {string.Join(", ", SupportedDtypes)})");
        Require(maxPositionEmbeddings > 0, $"max_position_embeddings {maxPositionEmbeddings} is not positive");
        Require(bosTokenId >= 0 && eosTokenId >= 0, $"bos_token_id {bosTokenId} / eos_token_id {eosTokenId} is negative");
        ropeScaling?.Validate();

        ModelType = modelType;
        VocabSize = vocabSize;
        HiddenSize = hiddenSize;
        IntermediateSize = intermediateSize;
        Layers = layers;
        Heads = heads;
        KvHeads = kvHeads ?? heads;
        HeadDim = dim;
        RmsNormEps = rmsNormEps;
        RopeTheta = ropeTheta;
        RopeScaling = ropeScaling;
        Rope = RopeFrequencies.Create(ropeTheta, dim, ropeScaling);
        SlidingWindow = slidingWindow;
        TieWordEmbeddings = tieWordEmbeddings;
        TorchDtype = torchDtype;
        MaxPositionEmbeddings = maxPositionEmbeddings;
        BosTokenId = bosTokenId;
        EosTokenId = eosTokenId;
    }

    public static ModelConfig Load(string path)
    {
        InputFile.RequireRegular(path, maxBytes: 1 << 20);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Every id of the eos_token_id (an integer or a list) of a config.json or generation_config.json; empty when it has none.</summary>
    public static IReadOnlyList<int> LoadEosTokenIds(string path)
    {
        InputFile.RequireRegular(path, maxBytes: 1 << 20);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new ModelConfigException(path, $"not valid JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelConfigException(path, "not a JSON object");
            return new ConfigJson(doc.RootElement, path).IntsOrNull("eos_token_id") ?? [];
        }
    }

    /// <summary>Parses config.json text; <paramref name="sourceName"/> (usually the path) starts every error message.</summary>
    public static ModelConfig Parse(string json, string sourceName)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ModelConfigException(sourceName, $"not valid JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelConfigException(sourceName, "not a JSON object");
            var config = new ConfigJson(doc.RootElement, sourceName);
            string modelType = config.ModelType();
            int[]? eos = config.IntsOrNull("eos_token_id");  // Llama 3.1 lists several: EosTokenId is the first, LoadEosTokenIds reads them all

            config.Reject("hidden_act", v => v.ValueKind == JsonValueKind.String && v.GetString() == "silu", "only silu is supported");
            config.Reject("attention_bias", v => v.ValueKind == JsonValueKind.False, "attention biases are not supported");
            config.Reject("mlp_bias", v => v.ValueKind == JsonValueKind.False, "MLP biases are not supported");

            try
            {
                return new ModelConfig(
                    vocabSize: config.Int("vocab_size"),
                    hiddenSize: config.Int("hidden_size"),
                    intermediateSize: config.Int("intermediate_size"),
                    layers: config.Int("num_hidden_layers"),
                    heads: config.Int("num_attention_heads"),
                    kvHeads: config.IntOrNull("num_key_value_heads"),
                    rmsNormEps: config.Float("rms_norm_eps"),
                    ropeTheta: config.FloatOrNull("rope_theta") ?? 10000f,
                    // Hugging Face's MistralConfig defaults to a 4096 window when the key is absent (null = none).
                    slidingWindow: modelType == "mistral" && !config.Has("sliding_window") ? 4096 : config.IntOrNull("sliding_window"),
                    tieWordEmbeddings: config.BoolOrNull("tie_word_embeddings") ?? false,
                    // Recent transformers versions write "dtype" instead of "torch_dtype".
                    torchDtype: config.StringOrNull("torch_dtype") ?? config.StringOrNull("dtype") ?? "float32",
                    maxPositionEmbeddings: config.Int("max_position_embeddings"),
                    bosTokenId: config.IntOrNull("bos_token_id") ?? 1,
                    eosTokenId: eos?[0] ?? 2,
                    modelType: modelType,
                    headDim: config.IntOrNull("head_dim"),
                    ropeScaling: config.RopeScaling());
            }
            catch (ArgumentException e) { throw new ModelConfigException(sourceName, e.Message); }
        }
    }

    /// <summary>A Hugging Face config.json for this model, to save next to a checkpoint.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("architectures");
            json.WriteStringValue(ModelType == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM");
            json.WriteEndArray();
            json.WriteString("model_type", ModelType);
            json.WriteString("torch_dtype", TorchDtype);
            json.WriteNumber("bos_token_id", BosTokenId);
            json.WriteNumber("eos_token_id", EosTokenId);
            json.WriteString("hidden_act", "silu");
            json.WriteNumber("max_position_embeddings", MaxPositionEmbeddings);
            json.WriteNumber("vocab_size", VocabSize);
            json.WriteNumber("hidden_size", HiddenSize);
            json.WriteNumber("intermediate_size", IntermediateSize);
            json.WriteNumber("num_hidden_layers", Layers);
            json.WriteNumber("num_attention_heads", Heads);
            json.WriteNumber("num_key_value_heads", KvHeads);
            json.WriteNumber("head_dim", HeadDim);
            json.WriteNumber("rms_norm_eps", RmsNormEps);
            json.WriteNumber("rope_theta", RopeTheta);
            if (RopeScaling is { } scaling)
            {
                json.WriteStartObject("rope_scaling");
                json.WriteString("rope_type", "llama3");
                json.WriteNumber("factor", scaling.Factor);
                json.WriteNumber("low_freq_factor", scaling.LowFreqFactor);
                json.WriteNumber("high_freq_factor", scaling.HighFreqFactor);
                json.WriteNumber("original_max_position_embeddings", scaling.OriginalMaxPositionEmbeddings);
                json.WriteEndObject();
            }
            if (SlidingWindow is int window) json.WriteNumber("sliding_window", window);
            else json.WriteNull("sliding_window");
            json.WriteBoolean("tie_word_embeddings", TieWordEmbeddings);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Typed access to config.json fields, with errors that name the file and the field.</summary>
    readonly struct ConfigJson(JsonElement root, string source, string prefix = "")
    {
        static readonly Dictionary<string, string> ModelTypeOf = new()
        {
            ["LlamaForCausalLM"] = "llama",
            ["MistralForCausalLM"] = "mistral",
        };

        ModelConfigException Error(string problem) => new(source, problem);

        public bool Has(string key) => root.TryGetProperty(key, out _);

        /// <summary>The field's value, or null when it is absent or JSON null.</summary>
        JsonElement? Value(string key) => root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        public int Int(string key) => IntOrNull(key) ?? throw Error($"missing required field {prefix}{key}");
        public float Float(string key) => FloatOrNull(key) ?? throw Error($"missing required field {prefix}{key}");

        public int? IntOrNull(string key) => Value(key) is { } v
            ? (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw Error($"{prefix}{key} is not an integer: {v.GetRawText()}"))
            : null;

        /// <summary>An integer or a non-empty list of integers (as one), or null when absent.</summary>
        public int[]? IntsOrNull(string key)
        {
            if (Value(key) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Array) return [IntOrNull(key)!.Value];
            var ids = v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int i) ? i : (int?)null).ToArray();
            if (ids.Length == 0 || ids.Any(i => i is null)) throw Error($"{prefix}{key} is not an integer or a list of integers: {v.GetRawText()}");
            return ids.Select(i => i!.Value).ToArray();
        }

        public float? FloatOrNull(string key) => Value(key) is { } v
            ? (v.ValueKind == JsonValueKind.Number ? (float)v.GetDouble() : throw Error($"{prefix}{key} is not a number: {v.GetRawText()}"))
            : null;

        public bool? BoolOrNull(string key) => Value(key) is { } v
            ? (v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Error($"{prefix}{key} is not a boolean: {v.GetRawText()}"))
            : null;

        public string? StringOrNull(string key) => Value(key) is { } v
            ? (v.ValueKind == JsonValueKind.String ? v.GetString() : throw Error($"{prefix}{key} is not a string: {v.GetRawText()}"))
            : null;

        /// <summary>
        /// rope_scaling: null, absent or rope_type "default" is plain RoPE; "llama3" reads its four fields;
        /// any other type is an error naming the supported ones. Older configs spell rope_type "type".
        /// </summary>
        public Llama3RopeScaling? RopeScaling()
        {
            if (Value("rope_scaling") is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Object) throw Error($"rope_scaling is not an object: {v.GetRawText()}");
            var scaling = new ConfigJson(v, source, "rope_scaling.");
            string? type = scaling.StringOrNull("rope_type") ?? scaling.StringOrNull("type");
            if (type == "default") return null;
            if (type != "llama3")
                throw Error($"unsupported rope_scaling type '{type ?? "(none)"}' (supported: {string.Join(", ", SupportedRopeTypes)})");
            return new Llama3RopeScaling(scaling.Float("factor"), scaling.Float("low_freq_factor"), scaling.Float("high_freq_factor"),
                scaling.Int("original_max_position_embeddings"));
        }

        /// <summary>Throws when the field is present, not null, and not a value the engine supports.</summary>
        public void Reject(string key, Func<JsonElement, bool> supported, string reason)
        {
            if (Value(key) is { } v && !supported(v)) throw Error($"unsupported {key} {v.GetRawText()}: {reason}");
        }

        /// <summary>"llama" or "mistral", from model_type and/or architectures, which must agree.</summary>
        public string ModelType()
        {
            string? modelType = StringOrNull("model_type");
            if (modelType is not (null or "llama" or "mistral"))
                throw Error($"unsupported model_type '{modelType}' (supported: llama, mistral)");
            if (Value("architectures") is { } list)
            {
                if (list.ValueKind != JsonValueKind.Array) throw Error($"architectures is not an array: {list.GetRawText()}");
                foreach (var a in list.EnumerateArray())
                {
                    string name = a.ValueKind == JsonValueKind.String ? a.GetString()! : a.GetRawText();
                    if (!ModelTypeOf.TryGetValue(name, out var type))
                        throw Error($"unsupported architecture '{name}' (supported: {string.Join(", ", ModelTypeOf.Keys)})");
                    if (modelType is not null && type != modelType)
                        throw Error($"architecture '{name}' does not match model_type '{modelType}'");
                    modelType = type;
                }
            }
            return modelType ?? throw Error("neither architectures nor model_type says which model this is");
        }
    }
}
