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

    public static IEnumerable<TokenizerCase> Cases() => TokenizerCase.Read(CasesPath);
}
