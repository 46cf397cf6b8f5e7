using System.Text;
using DrICL.Model.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary>Meta Llama 3's byte-level tokenizer against the Hugging Face fast tokenizer's golden encodings.</summary>
public class Llama3TokenizerTests
{
    public static readonly string JsonPath = Fixtures.File("tokenizers", "llama3", "tokenizer.json");
    private static readonly Lazy<BpeTokenizer> Loaded = new(() => BpeTokenizer.Load(JsonPath));
    public static BpeTokenizer Tokenizer => Loaded.Value;

    private static IEnumerable<TokenizerCase> Cases() => TokenizerCase.Read(Fixtures.File("tokenizers", "llama3", "cases.json"));

    [Test]
    public void FileAddsNoBosThroughItsPostProcessor()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Tokenizer.VocabSize, Is.EqualTo(128256));
            Assert.That(Tokenizer.BosId, Is.EqualTo(128000), "tokenizer_config.json's bos_token");
            Assert.That(Tokenizer.EosId, Is.EqualTo(128001), "tokenizer_config.json's eos_token");
            Assert.That(Tokenizer.AddsBosByDefault, Is.False, "the post_processor is ByteLevel only");
            Assert.That(Tokenizer.AddsEosByDefault, Is.False);
            Assert.That(Tokenizer.IdToToken(128009), Is.EqualTo("<|eot_id|>"));
            Assert.That(Tokenizer.IsSpecial(128009), Is.True);
        });
    }

    [TestCaseSource(nameof(Cases))]
    public void EncodesLikeHuggingFace(TokenizerCase c) =>
        Assert.That(Tokenizer.Encode(c.Text, Tokenizer.AddsBosByDefault).Ids, Is.EqualTo(c.Ids));

    [TestCaseSource(nameof(Cases))]
    public void DecodesLikeHuggingFace(TokenizerCase c) =>
        Assert.That(Tokenizer.Decode(c.Ids), Is.EqualTo(c.Decoded));

    [TestCaseSource(nameof(Cases))]
    public void StreamingEqualsFullDecode(TokenizerCase c) => TokenizerCase.AssertStreamingEqualsDecode(Tokenizer, c.Ids);

    /// <summary>Tokens tile the text's UTF-8: each one's bytes come next, and its offset is the character holding its first byte.</summary>
    [TestCaseSource(nameof(Cases))]
    public void OffsetsPointAtTheCharacterOfEachTokensFirstByte(TokenizerCase c)
    {
        var encoded = Tokenizer.Encode(c.Text);
        var charOfByte = new List<int>();
        for (int i = 0; i < c.Text.Length; i++)
        {
            int width = char.IsHighSurrogate(c.Text[i]) && i + 1 < c.Text.Length ? 2 : 1;
            charOfByte.AddRange(Enumerable.Repeat(i, Encoding.UTF8.GetByteCount(c.Text.AsSpan(i, width))));
            i += width - 1;
        }
        byte[] utf8 = Encoding.UTF8.GetBytes(c.Text);
        int pos = 0;
        for (int t = 0; t < encoded.Ids.Length; t++)
        {
            string token = Tokenizer.IdToToken(encoded.Ids[t])!;
            var bytes = new List<byte>();
            if (Tokenizer.IsSpecial(encoded.Ids[t])) bytes.AddRange(Encoding.UTF8.GetBytes(token));
            else ByteLevel.AppendBytes(token, bytes);
            Assert.That(utf8.AsSpan(pos).StartsWith(bytes.ToArray()), Is.True, $"token {t} '{token}' spells the text's next bytes");
            Assert.That(encoded.Offsets[t], Is.EqualTo(charOfByte[pos]), $"token {t} '{token}'");
            pos += bytes.Count;
        }
        Assert.That(pos, Is.EqualTo(utf8.Length));
    }

    [Test]
    public void EncodingIsThreadSafe()
    {
        var cases = Cases().ToArray();
        var fresh = BpeTokenizer.Load(JsonPath); // empty word cache, filled concurrently
        Parallel.For(0, 4 * cases.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            var c = cases[k % cases.Length];
            Assert.That(fresh.Encode(c.Text).Ids, Is.EqualTo(c.Ids));
        });
    }
}
