using System.Text;
using System.Text.Json;
using DrICL.Model.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary>One golden tokenizer case: text, the Hugging Face ids, and the decoding of those ids (without a leading BOS).</summary>
public sealed record TokenizerCase(string Text, int[] Ids, string Decoded)
{
    public override string ToString() => JsonSerializer.Serialize(Text.Length > 40 ? Text[..40] : Text);

    /// <summary>A cases.json: {"cases": [{"text", "ids", "decoded"}]}.</summary>
    public static List<TokenizerCase> Read(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => new TokenizerCase(
                c.GetProperty("text").GetString()!,
                c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray(),
                c.GetProperty("decoded").GetString()!))
            .ToList();
    }

    /// <summary>Streams ids through the tokenizer's streaming decoder: no delta splits a character, and the deltas add up to Decode.</summary>
    public static void AssertStreamingEqualsDecode(BpeTokenizer tokenizer, int[] ids)
    {
        var stream = tokenizer.CreateStreamingDecoder();
        var text = new StringBuilder();
        foreach (int id in ids)
        {
            string delta = stream.Push(id);
            Assert.That(delta, Does.Not.Contain('\uFFFD'), "no replacement character for a split UTF-8 sequence");
            if (delta.Length > 0)
            {
                Assert.That(char.IsLowSurrogate(delta[0]), Is.False, "delta starts with half a surrogate pair");
                Assert.That(char.IsHighSurrogate(delta[^1]), Is.False, "delta ends with half a surrogate pair");
            }
            text.Append(delta);
        }
        text.Append(stream.Flush());
        Assert.That(text.ToString(), Is.EqualTo(tokenizer.Decode(ids)));
    }
}
