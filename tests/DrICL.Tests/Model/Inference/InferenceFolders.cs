using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Tests.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Model.Inference;

/// <summary>Model folders for the generate/chat tests, written once per test run under the temp folder and deleted after the namespace's tests.</summary>
[SetUpFixture]
public sealed class InferenceFolders
{
    static readonly Lazy<string> chat = new(() =>
    {
        // A random 2-layer llama over the tiny tokenizer's vocabulary: replies are gibberish, but every id decodes.
        var tokenizer = TinyTokenizers.OldStyle();
        int vocab = TinyTokenizers.Load(tokenizer).VocabSize;
        var config = new ModelConfig(vocabSize: vocab, hiddenSize: 32, intermediateSize: 48, layers: 2, heads: 4, maxPositionEmbeddings: 256);
        var rng = new Random(3);
        var model = new Transformer(config, CpuDevice.Instance, (name, shape) =>
        {
            var values = new float[Tensor.SizeOf(shape)];
            bool norm = name.EndsWith("norm.weight", StringComparison.Ordinal);
            for (int i = 0; i < values.Length; i++) values[i] = norm ? 1f : 0.4f * (float)(rng.NextDouble() * 2 - 1);
            return values;
        });
        string folder = Path.Combine(Path.GetTempPath(), $"dricl-chat-model-{Environment.ProcessId}");
        ModelSaver.SaveFolder(model, folder);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer.ToJsonString());
        return folder;
    });

    /// <summary>A llama folder with tokenizer.json (the tiny test tokenizer, whose vocabulary the model has).</summary>
    public static string WithTokenizer => chat.Value;

    [OneTimeTearDown]
    public void DeleteChatModel()
    {
        if (chat.IsValueCreated) Directory.Delete(chat.Value, recursive: true);
    }

    /// <summary>A copy of a golden fixture's model with a tokenizer.json added.</summary>
    public static string FixtureWithTokenizer(string fixture, string tokenizerJson)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"dricl-{fixture}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        foreach (var file in new[] { "config.json", "model.safetensors" })
            File.Copy(Fixtures.File("models", fixture, file), Path.Combine(folder, file));
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizerJson);
        return folder;
    }
}
