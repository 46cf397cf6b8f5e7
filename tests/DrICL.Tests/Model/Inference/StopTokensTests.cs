using DrICL.Model;
using DrICL.Model.Inference;
using DrICL.Tests.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Model.Inference;

public class StopTokensTests
{
    [Test]
    public void CollectsTheConfigsEosListsAndLlama3sEndOfTurn()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"dricl-stops-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var config = new ModelConfig(vocabSize: 128256, hiddenSize: 32, intermediateSize: 64, layers: 1, heads: 4, eosTokenId: 128001);
            File.WriteAllText(Path.Combine(folder, "config.json"), "{\"eos_token_id\": [128001, 128008]}");
            Assert.That(StopTokens.For(folder, config, null), Is.EquivalentTo(new[] { 128001, 128008 }));
            File.WriteAllText(Path.Combine(folder, "generation_config.json"), "{\"eos_token_id\": 7}");
            Assert.That(StopTokens.For(folder, config, null), Is.EquivalentTo(new[] { 128001, 128008, 7 }));
            // Llama 3's tokenizer: EOS <|end_of_text|> 128001, and <|eot_id|> 128009 ends a chat turn.
            Assert.That(StopTokens.For(folder, config, Llama3TokenizerTests.Tokenizer), Is.EquivalentTo(new[] { 128001, 128008, 7, 128009 }));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
