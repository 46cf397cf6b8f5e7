using System.Text.Json;
using DrICL.Model.Tokenization;

namespace DrICL.Tests.Tokenization;

/// <summary>The fixture's Mistral-7B tokenizer and golden cases, loaded once for all tests.</summary>
public static class MistralTokenizer
{
    public static readonly string JsonPath = Fixtures.File("tokenizers", "mistral", "tokenizer.json");
    public static readonly string CasesPath = Fixtures.File("tokenizers", "mistral", "cases.json");
    public static readonly string ChatCasesPath = Fixtures.File("chat", "cases-mistral-vocab.json");

    private static readonly Lazy<BpeTokenizer> Loaded = new(() => BpeTokenizer.Load(JsonPath));
    public static BpeTokenizer Tokenizer => Loaded.Value;

    public sealed record Case(string Text, int[] Ids, string Decoded)
    {
        public override string ToString() => JsonSerializer.Serialize(Text.Length > 40 ? Text[..40] : Text);
    }

    public static IEnumerable<Case> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(CasesPath));
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => new Case(
                c.GetProperty("text").GetString()!,
                c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray(),
                c.GetProperty("decoded").GetString()!))
            .ToList();
    }
}
