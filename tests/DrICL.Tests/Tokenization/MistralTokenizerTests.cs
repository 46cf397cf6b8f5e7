using System.Text;
using DrICL.Model.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary>The Mistral-7B tokenizer against the Hugging Face fast tokenizer's golden encodings.</summary>
public class MistralTokenizerTests
{
    private static BpeTokenizer Tokenizer => MistralTokenizer.Tokenizer;

    private static IEnumerable<TokenizerCase> Cases() => MistralTokenizer.Cases();

    [Test]
    public void FileIsTheOldNormalizerForm()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Tokenizer.VocabSize, Is.EqualTo(32000));
            Assert.That(Tokenizer.BosId, Is.EqualTo(1));
            Assert.That(Tokenizer.EosId, Is.EqualTo(2), "from tokenizer_config.json's eos_token");
            Assert.That(Tokenizer.AddsBosByDefault, Is.True);
            Assert.That(Tokenizer.AddsEosByDefault, Is.False);
        });
    }

    [TestCaseSource(nameof(Cases))]
    public void EncodesLikeHuggingFace(TokenizerCase c) =>
        Assert.That(Tokenizer.Encode(c.Text, addBos: true).Ids, Is.EqualTo(c.Ids));

    [TestCaseSource(nameof(Cases))]
    public void DecodesLikeHuggingFace(TokenizerCase c) =>
        Assert.That(Tokenizer.Decode(c.Ids.AsSpan(1)), Is.EqualTo(c.Decoded));

    [TestCaseSource(nameof(Cases))]
    public void OffsetsPointAtEachTokensText(TokenizerCase c)
    {
        var encoded = Tokenizer.Encode(c.Text, addBos: true);
        string normalized = c.Text.Replace(' ', '▁');
        Assert.That(encoded.Offsets[0], Is.EqualTo(0), "BOS");
        for (int i = 1; i < encoded.Ids.Length; i++)
        {
            int at = encoded.Offsets[i];
            string piece = Tokenizer.IdToToken(encoded.Ids[i])!;
            Assert.That(at, Is.InRange(encoded.Offsets[i - 1], c.Text.Length - 1), $"token {i} {piece}: offsets go forward within the text");
            string rest = normalized[at..];
            if (TokenDecoderByte(piece) >= 0)
            {
                // All byte tokens of one character share its offset and spell its UTF-8.
                int end = i;
                while (end < encoded.Ids.Length && encoded.Offsets[end] == at && TokenDecoderByte(Tokenizer.IdToToken(encoded.Ids[end])!) >= 0) end++;
                var bytes = encoded.Ids[i..end].Select(id => (byte)TokenDecoderByte(Tokenizer.IdToToken(id)!)).ToArray();
                Rune.DecodeFromUtf16(c.Text.AsSpan(at), out var rune, out _);
                Assert.That(bytes, Is.EqualTo(Encoding.UTF8.GetBytes(rune.ToString())), $"token {i}: bytes of the character at {at}");
                i = end - 1;
            }
            else
            {
                // A '▁' the normalizer prepended maps to the first character, which the rest of the piece starts with.
                bool matches = rest.StartsWith(piece, StringComparison.Ordinal)
                    || (piece[0] == '▁' && rest.StartsWith(piece[1..], StringComparison.Ordinal));
                Assert.That(matches, Is.True, $"token {i} {piece} at offset {at}: text there is {rest[..Math.Min(12, rest.Length)]}");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void StreamingEqualsFullDecode(TokenizerCase c) =>
        TokenizerCase.AssertStreamingEqualsDecode(Tokenizer, c.Ids.AsSpan(1).ToArray());

    [Test]
    public void EncodingIsThreadSafe()
    {
        var cases = MistralTokenizer.Cases().ToArray();
        var fresh = BpeTokenizer.Load(MistralTokenizer.JsonPath); // empty word cache, filled concurrently
        Parallel.For(0, 4 * cases.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            var c = cases[k % cases.Length];
            Assert.That(fresh.Encode(c.Text, addBos: true).Ids, Is.EqualTo(c.Ids));
        });
    }

    private static int TokenDecoderByte(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) ? Convert.ToInt32(piece[3..5], 16) : -1;
}
