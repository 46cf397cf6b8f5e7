using System.Text.Json.Nodes;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Model.Autograd;
using NUnit.Framework;

namespace DrICL.Tests.Model;

public class ModelConfigTests
{
    static string LlamaPath => Fixtures.File("models", "tiny-llama-f32", "config.json");
    static string MistralPath => Fixtures.File("models", "tiny-mistral-gqa-bf16", "config.json");

    /// <summary>The Llama fixture config with one field replaced (or removed when value is null).</summary>
    static string LlamaWith(string key, string? value)
    {
        var json = JsonNode.Parse(File.ReadAllText(LlamaPath))!.AsObject();
        json.Remove(key);
        if (value is not null) json[key] = JsonNode.Parse(value);
        return json.ToJsonString();
    }

    [Test]
    public void LoadsLlamaFixture()
    {
        var c = ModelConfig.Load(LlamaPath);
        Assert.That(c, Is.EqualTo(new ModelConfig(vocabSize: 64, hiddenSize: 32, intermediateSize: 64, layers: 2, heads: 4,
            kvHeads: 4, rmsNormEps: 1e-6f, ropeTheta: 10000f, maxPositionEmbeddings: 4096, modelType: "llama")));
        Assert.That(c.HeadDim, Is.EqualTo(8));
        Assert.That(c.SlidingWindow, Is.Null);
        Assert.That(c.TorchDtype, Is.EqualTo("float32"));
        Assert.That((c.BosTokenId, c.EosTokenId), Is.EqualTo((1, 2)));
    }

    [Test]
    public void LoadsMistralGqaFixture()
    {
        var c = ModelConfig.Load(MistralPath);
        Assert.That(c.ModelType, Is.EqualTo("mistral"));
        Assert.That((c.VocabSize, c.HiddenSize, c.IntermediateSize, c.Layers), Is.EqualTo((80, 48, 96, 2)));
        Assert.That((c.Heads, c.KvHeads, c.HeadDim), Is.EqualTo((6, 2, 8)));
        Assert.That(c.RmsNormEps, Is.EqualTo(1e-5f));
        Assert.That(c.RopeTheta, Is.EqualTo(1e6f));
        Assert.That(c.SlidingWindow, Is.EqualTo(12));
        Assert.That(c.TieWordEmbeddings, Is.False);
        Assert.That(c.TorchDtype, Is.EqualTo("bfloat16"));
        Assert.That(c.MaxPositionEmbeddings, Is.EqualTo(4096));
    }

    [Test]
    public void LoadsLlama3ScalingAndAnExplicitHeadDim()
    {
        var c = ModelConfig.Load(Fixtures.File("models", "tiny-llama3-scaled", "config.json"));
        Assert.That(c.RopeScaling, Is.EqualTo(new Llama3RopeScaling(8, 1, 4, 64)));
        Assert.That(c.Rope, Is.EqualTo(RopeFrequencies.Create(500000f, 16, c.RopeScaling)));

        var wide = ModelConfig.Parse(LlamaWith("head_dim", "16"), "wide.json");
        Assert.That((wide.HiddenSize, wide.Heads, wide.HeadDim), Is.EqualTo((32, 4, 16)));
        Assert.That(wide.Rope.Inverse, Has.Length.EqualTo(8));
        var model = ModelInit.Random(wide, CpuDevice.Instance, seed: 1);
        Assert.That(model.Parameters.First(p => p.Name.EndsWith("q_proj.weight")).Value.Shape, Is.EqualTo(new[] { 64, 32 }));
        Assert.That(model.Parameters.First(p => p.Name.EndsWith("o_proj.weight")).Value.Shape, Is.EqualTo(new[] { 32, 64 }));
        var logits = model.Forward(Tape.NoGrad(CpuDevice.Instance), [1, 2, 3], [0, 1, 2], 1, 3).Value;
        Assert.That(logits.Shape, Is.EqualTo(new[] { 3, 64 }));
    }

    [Test]
    public void ParsesMultiQueryAttentionAndTiedEmbeddings()
    {
        var mqa = ModelConfig.Parse(LlamaWith("num_key_value_heads", "1"), "mqa.json");
        Assert.That((mqa.Heads, mqa.KvHeads), Is.EqualTo((4, 1)));
        Assert.That(ModelConfig.Parse(LlamaWith("tie_word_embeddings", "true"), "tied.json").TieWordEmbeddings, Is.True);
    }

    [Test]
    public void AppliesHuggingFaceDefaults()
    {
        var c = ModelConfig.Parse("""
            {"model_type": "llama", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 4, "rms_norm_eps": 1e-6, "max_position_embeddings": 128, "head_dim": 8, "rope_scaling": null,
             "attention_bias": false, "mlp_bias": false, "dtype": "bfloat16"}
            """, "minimal.json");
        Assert.That(c.KvHeads, Is.EqualTo(4));
        Assert.That(c.RopeTheta, Is.EqualTo(10000f));
        Assert.That(c.TieWordEmbeddings, Is.False);
        Assert.That(c.SlidingWindow, Is.Null);
        Assert.That(c.TorchDtype, Is.EqualTo("bfloat16"));
        Assert.That((c.BosTokenId, c.EosTokenId), Is.EqualTo((1, 2)));

        var mistral = JsonNode.Parse(File.ReadAllText(MistralPath))!.AsObject();
        mistral.Remove("sliding_window");
        Assert.That(ModelConfig.Parse(mistral.ToJsonString(), "m.json").SlidingWindow, Is.EqualTo(4096));
        mistral["sliding_window"] = null;
        Assert.That(ModelConfig.Parse(mistral.ToJsonString(), "m.json").SlidingWindow, Is.Null);
    }

    [Test]
    public void ToJsonRoundTrips()
    {
        var built = new ModelConfig(vocabSize: 256, hiddenSize: 64, intermediateSize: 172, layers: 3, heads: 8, kvHeads: 1,
            tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 255);
        var llama3 = ModelConfig.Load(Fixtures.File("models", "tiny-llama3-scaled", "config.json"));
        foreach (var c in new[] { ModelConfig.Load(LlamaPath), ModelConfig.Load(MistralPath), llama3, built })
            Assert.That(ModelConfig.Parse(c.ToJson(), "saved.json"), Is.EqualTo(c));
        Assert.That(JsonNode.Parse(built.ToJson())!["architectures"]![0]!.GetValue<string>(), Is.EqualTo("LlamaForCausalLM"));
    }

    [TestCase("architectures", """["GPT2LMHeadModel"]""", "unsupported architecture 'GPT2LMHeadModel'")]
    [TestCase("architectures", """["MistralForCausalLM"]""", "architecture 'MistralForCausalLM' does not match model_type 'llama'")]
    [TestCase("architectures", "\"LlamaForCausalLM\"", "architectures is not an array")]
    [TestCase("model_type", "\"mixtral\"", "unsupported model_type 'mixtral'")]
    [TestCase("hidden_act", "\"gelu\"", "unsupported hidden_act \"gelu\"")]
    [TestCase("rope_scaling", """{"type": "linear", "factor": 2.0}""", "unsupported rope_scaling type 'linear' (supported: default, llama3)")]
    [TestCase("rope_scaling", """{"rope_type": "yarn", "factor": 2.0}""", "unsupported rope_scaling type 'yarn' (supported: default, llama3)")]
    [TestCase("rope_scaling", """{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}""",
        "missing required field rope_scaling.original_max_position_embeddings")]
    [TestCase("rope_scaling", """{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0, "original_max_position_embeddings": 64}""",
        "rope_scaling high_freq_factor 1 is not above low_freq_factor 4")]
    [TestCase("rope_scaling", "2", "rope_scaling is not an object: 2")]
    [TestCase("attention_bias", "true", "unsupported attention_bias true")]
    [TestCase("mlp_bias", "true", "unsupported mlp_bias true")]
    [TestCase("head_dim", "7", "head dim 7 is odd")]
    [TestCase("head_dim", "0", "head_dim 0 is not positive")]
    [TestCase("num_attention_heads", "5", "num_attention_heads 5 does not divide hidden_size 32")]
    [TestCase("num_attention_heads", "0", "num_attention_heads 0 is not positive")]
    [TestCase("num_key_value_heads", "3", "num_key_value_heads 3 does not divide num_attention_heads 4")]
    [TestCase("num_attention_heads", "32", "head dim 1 is odd")]
    [TestCase("hidden_size", null, "missing required field hidden_size")]
    [TestCase("vocab_size", null, "missing required field vocab_size")]
    [TestCase("rms_norm_eps", "null", "missing required field rms_norm_eps")]
    [TestCase("max_position_embeddings", null, "missing required field max_position_embeddings")]
    [TestCase("hidden_size", "\"32\"", "hidden_size is not an integer: \"32\"")]
    [TestCase("intermediate_size", "64.5", "intermediate_size is not an integer: 64.5")]
    [TestCase("eos_token_id", "[2, 3.5]", "eos_token_id is not an integer or a list of integers")]
    [TestCase("eos_token_id", "[]", "eos_token_id is not an integer or a list of integers")]
    [TestCase("eos_token_id", "\"2\"", "eos_token_id is not an integer")]
    [TestCase("tie_word_embeddings", "1", "tie_word_embeddings is not a boolean")]
    [TestCase("sliding_window", "8", "sliding_window is set but llama has no sliding window")]
    [TestCase("torch_dtype", "\"int8\"", "unsupported torch_dtype 'int8'")]
    [TestCase("rms_norm_eps", "0", "rms_norm_eps 0 is not positive")]
    public void RejectsUnsupportedConfig(string key, string? value, string problem)
    {
        var e = Assert.Throws<ModelConfigException>(() => ModelConfig.Parse(LlamaWith(key, value), "bad/config.json"));
        Assert.That(e.Message, Does.StartWith($"bad/config.json: {problem}"));
    }

    [Test]
    public void EosTokenIdMayBeAList()
    {
        // Llama 3.1 instruct: <|end_of_text|>, <|eom_id|>, <|eot_id|>. EosTokenId is the first; LoadEosTokenIds has all.
        var c = ModelConfig.Parse(LlamaWith("eos_token_id", "[128001, 128008, 128009]"), "config.json");
        Assert.That(c.EosTokenId, Is.EqualTo(128001));
        string path = Path.Combine(Path.GetTempPath(), $"dricl-eos-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, LlamaWith("eos_token_id", "[128001, 128008, 128009]"));
            Assert.That(ModelConfig.LoadEosTokenIds(path), Is.EqualTo(new[] { 128001, 128008, 128009 }));
            File.WriteAllText(path, "{\"do_sample\": true}");
            Assert.That(ModelConfig.LoadEosTokenIds(path), Is.Empty);
            File.WriteAllText(path, "{\"eos_token_id\": [1, null]}");
            var e = Assert.Throws<ModelConfigException>(() => ModelConfig.LoadEosTokenIds(path));
            Assert.That(e.Message, Does.StartWith($"{path}: eos_token_id is not an integer or a list of integers"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void RejectsConfigThatNamesNoModel()
    {
        var json = JsonNode.Parse(LlamaWith("architectures", null))!.AsObject();
        json.Remove("model_type");
        Assert.That(() => ModelConfig.Parse(json.ToJsonString(), "c.json"), Throws.TypeOf<ModelConfigException>()
            .With.Message.EqualTo("c.json: neither architectures nor model_type says which model this is"));
    }

    [Test]
    public void LoadErrorsNameTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dricl-config-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, "{\"hidden_size\": ");
        try
        {
            var e = Assert.Throws<ModelConfigException>(() => ModelConfig.Load(path));
            Assert.That(e.Message, Does.StartWith($"{path}: not valid JSON"));
            Assert.That(e.SourceName, Is.EqualTo(path));
        }
        finally { File.Delete(path); }
        Assert.That(() => ModelConfig.Parse("[]", "x.json"), Throws.TypeOf<ModelConfigException>().With.Message.EqualTo("x.json: not a JSON object"));
    }

    [Test]
    public void ConstructorValidates()
    {
        Assert.That(() => new ModelConfig(vocabSize: 64, hiddenSize: 30, intermediateSize: 64, layers: 2, heads: 4),
            Throws.ArgumentException.With.Message.EqualTo("num_attention_heads 4 does not divide hidden_size 30"));
        Assert.That(() => new ModelConfig(vocabSize: 64, hiddenSize: 32, intermediateSize: 64, layers: 2, heads: 4, modelType: "gpt2"),
            Throws.ArgumentException);
    }
}
