using System.Text.Json;
using DrICL.Model.Tokenization;
using Microsoft.ML.Tokenizers;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary>Model folders with tokenizer.json or only a tokenizer.model load through the right class.</summary>
public class TokenizerFilesTests
{
    private string dir = "";
    private readonly List<string> warnings = [];

    [SetUp]
    public void CreateDir() => Directory.CreateDirectory(dir = Path.Combine(Path.GetTempPath(), "dricl-tok-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void DeleteDir() => Directory.Delete(dir, recursive: true);

    private Tokenizer Load(string path) => TokenizerFiles.Load(path, warnings.Add);

    /// <summary>Meta's tiktoken form of Llama 3 (base64 bytes, rank per line), written from the fixture's tokenizer.json.</summary>
    private void WriteLlama3Tiktoken(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Llama3TokenizerTests.JsonPath));
        var lines = doc.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject()
            .Select(p =>
            {
                var bytes = new List<byte>();
                ByteLevel.AppendBytes(p.Name, bytes);
                return (Rank: p.Value.GetInt32(), Line: $"{Convert.ToBase64String(bytes.ToArray())} {p.Value.GetInt32()}");
            })
            .OrderBy(l => l.Rank).Select(l => l.Line);
        File.WriteAllLines(path, lines);
    }

    [Test]
    public void TiktokenTokenizerModelLoadsWithTiktokenTokenizer()
    {
        WriteLlama3Tiktoken(Path.Combine(dir, "tokenizer.model"));
        var tokenizer = Load(dir);
        Assert.That(tokenizer, Is.TypeOf<TiktokenTokenizer>());
        Assert.That((tokenizer.VocabSize, tokenizer.BosId, tokenizer.EosId), Is.EqualTo((128256, 128000, 128001)));
        Assert.That(warnings, Is.Empty);

        // Same ranks, same specials, same regex (run by .NET's engine): the golden ids, offsets in the text.
        var cases = TokenizerCase.Read(Fixtures.File("tokenizers", "llama3", "cases.json"));
        var differing = cases.Where(c => !tokenizer.Encode(c.Text).Ids.SequenceEqual(c.Ids)).Select(c => c.ToString()).ToList();
        Assert.That(differing, Is.Empty);
        var encoded = tokenizer.Encode("Hello world", addBos: true);
        Assert.That((encoded.Ids, encoded.Offsets), Is.EqualTo((new[] { 128000, 9906, 1917 }, new[] { 0, 0, 5 })));
        Assert.That(tokenizer.Decode([128000, 9906, 1917, 128001], skipSpecialTokens: true), Is.EqualTo("Hello world"));
    }

    [Test]
    public void TheLlama3SpecialTokensAreTheTokenizerJsons()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Llama3TokenizerTests.JsonPath));
        var added = doc.RootElement.GetProperty("added_tokens").EnumerateArray()
            .ToDictionary(t => t.GetProperty("content").GetString()!, t => t.GetProperty("id").GetInt32());
        Assert.That(TokenizerFiles.Llama3SpecialTokens(), Is.EquivalentTo(added));
    }

    [Test]
    public void TokenizerJsonWinsOverTokenizerModel()
    {
        File.Copy(MistralTokenizer.JsonPath, Path.Combine(dir, "tokenizer.json"));
        File.WriteAllText(Path.Combine(dir, "tokenizer.model"), "not read");
        Assert.That(TokenizerFiles.Resolve(dir), Is.EqualTo(Path.Combine(dir, "tokenizer.json")));
        Assert.That(Load(dir), Is.TypeOf<DrICL.Model.Tokenization.BpeTokenizer>());
    }

    [Test]
    public void UnusableFilesAreOneLineErrorsNamingTheFile()
    {
        Assert.That(() => Load(dir), Throws.TypeOf<TokenizerLoadException>().With.Message.EqualTo($"{dir}: no tokenizer.json or tokenizer.model in the folder"));

        string model = Path.Combine(dir, "tokenizer.model");
        File.WriteAllBytes(model, [0x0a, 0x05, 0xff, 0x00, 0x13, 0x37]);
        var e = Assert.Throws<TokenizerLoadException>(() => Load(model))!;
        Assert.That(e.Message, Does.StartWith($"{model}: neither a tiktoken file nor a SentencePiece model").And.Not.Contain("\n"));

        File.WriteAllLines(model, ["IQ== 0", "Ig== 1"]);
        Assert.That(() => Load(model), Throws.TypeOf<TokenizerLoadException>().With.Message.StartsWith($"{model}: a tiktoken file of 2 ranks"));
    }
}
