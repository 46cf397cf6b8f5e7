using System.Text;
using System.Text.RegularExpressions;
using DrICL.Model.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary>The hand-written split scanners cut text exactly where the regexes they stand for match.</summary>
internal class WordSplitterTests
{
    // BMP only: .NET's regex classifies UTF-16 code units, so an astral character would be two "others" there
    // where the scanner and Oniguruma see one code point (see the astral test below).
    private static readonly string[] Alphabet =
    [
        "a", "b", "Z", "s", "S", "t", "T", "r", "R", "e", "E", "v", "m", "l", "L", "d", "D", "é", "ß", "中", "ア", "한", "ب",
        "0", "7", "²", "٣", "Ⅻ", " ", " ", " ", "\t", "\r", "\n", "\u00a0", "\u3000", "\u2028", "\u0085", "\v",
        "'", "'", "\"", ".", ",", "!", "-", "#", "$", "_", "\u200b", "\u0301", "\u200d", "\0",
    ];

    [TestCase(SplitPattern.Llama3, WordSplitter.Llama3Regex)]
    [TestCase(SplitPattern.Gpt2, WordSplitter.Gpt2Regex)]
    public void SplitsWhereTheRegexMatches(SplitPattern pattern, string regex)
    {
        var re = new Regex(regex, RegexOptions.CultureInvariant);
        var rng = new Random(13);
        for (int n = 0; n < 3000; n++)
        {
            var text = new StringBuilder();
            int length = rng.Next(0, 24);
            for (int i = 0; i < length; i++) text.Append(Alphabet[rng.Next(Alphabet.Length)]);
            string s = text.ToString();
            var expected = re.Matches(s).Select(m => m.Value).ToList();
            var got = new List<string>();
            for (int i = 0, j; i < s.Length; i = j)
            {
                j = WordSplitter.WordEnd(pattern, s, i);
                got.Add(s[i..j]);
            }
            Assert.That(got, Is.EqualTo(expected), $"text {System.Text.Json.JsonSerializer.Serialize(s)}");
        }
    }

    // 𝐀𝐁 (U+1D400..: letters), 𝟏𝟐𝟑𝟒 (U+1D7CF..: digits) and 🤗 (a symbol) are single code points to Oniguruma.
    [TestCase(SplitPattern.Llama3, "x𝐀𝐁𝟏𝟐𝟑𝟒", new[] { "x𝐀𝐁", "𝟏𝟐𝟑", "𝟒" })]
    [TestCase(SplitPattern.Llama3, "🤗ok 🤗🤗", new[] { "🤗ok", " 🤗🤗" })]
    [TestCase(SplitPattern.Gpt2, " 𝐀𝐁🤗 🤗", new[] { " 𝐀𝐁", "🤗", " 🤗" })]
    public void AstralCharactersAreOneCodePoint(SplitPattern pattern, string text, string[] expected)
    {
        var words = new List<string>();
        for (int i = 0, j; i < text.Length; i = j)
        {
            j = WordSplitter.WordEnd(pattern, text, i);
            words.Add(text[i..j]);
        }
        Assert.That(words, Is.EqualTo(expected));
    }
}
