using DrICL.Model.Tokenization;
using Microsoft.ML.Tokenizers;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary>The engine's tokenizers answer Microsoft.ML.Tokenizers' Tokenizer API from their own encodings.</summary>
public class EngineTokenizerTests
{
    private static Tokenizer Llama3 => Llama3TokenizerTests.Tokenizer;

    [Test]
    public void IdsTokensAndCountsAreTheEngineEncoding()
    {
        const string text = "Hello, world! 🤗 ça marche";
        var own = Llama3TokenizerTests.Tokenizer.Encode(text);
        Assert.That(Llama3.EncodeToIds(text), Is.EqualTo(own.Ids));
        Assert.That(Llama3.CountTokens(text), Is.EqualTo(own.Ids.Length));
        var tokens = Llama3.EncodeToTokens(text, out string? normalized);
        Assert.That(normalized, Is.Null, "offsets are into the original text");
        Assert.That(tokens.Select(t => t.Id), Is.EqualTo(own.Ids));
        Assert.That(tokens.Select(t => t.Offset.Start.Value), Is.EqualTo(own.Offsets));
        Assert.That(tokens[0].Value, Is.EqualTo("Hello"));
        Assert.That(Llama3.Decode(own.Ids), Is.EqualTo(text));
    }

    [Test]
    public void MaxTokenCountCutsBetweenCharacters()
    {
        const string text = "ab 🤗 cd"; // the emoji is several byte tokens sharing one offset
        var own = Llama3TokenizerTests.Tokenizer.Encode(text);
        int emojiFirst = Array.IndexOf(own.Offsets, 3);
        Assert.That(own.Offsets.Count(o => o == 3), Is.GreaterThan(1), "the emoji spans several tokens");

        // A limit that falls inside the emoji's tokens stops before all of them.
        int index = Llama3.GetIndexByTokenCount(text, emojiFirst + 1, out _, out int count);
        Assert.That((index, count), Is.EqualTo((own.Offsets[emojiFirst], emojiFirst)));
        Assert.That(Llama3.EncodeToIds(text, emojiFirst + 1, out _, out int consumed), Has.Count.EqualTo(emojiFirst + 1));
        Assert.That(consumed, Is.EqualTo(own.Offsets[emojiFirst + 1]));

        // From the end: the last two tokens would cut into the emoji, so only " cd" fits.
        int fromEnd = Llama3.GetIndexByTokenCountFromEnd(text, 2, out _, out int tail);
        Assert.That((fromEnd, tail), Is.EqualTo((own.Offsets[^1], 1)));
        Assert.That(Llama3.GetIndexByTokenCount(text, 1000, out _, out int all), Is.EqualTo(text.Length));
        Assert.That(all, Is.EqualTo(own.Ids.Length));
    }

    [Test]
    public void DecodingThroughTheBaseTypeSkipsSpecialTokens()
    {
        int[] ids = [128000, 9906, 128009];
        Assert.That(Llama3.Decode(ids), Is.EqualTo("Hello"));
        Span<char> room = stackalloc char[8], tooSmall = stackalloc char[2];
        Assert.That(Llama3.Decode(ids, room, out int used, out int written), Is.EqualTo(System.Buffers.OperationStatus.Done));
        Assert.That((used, room[..written].ToString()), Is.EqualTo((3, "Hello")));
        Assert.That(Llama3.Decode(ids, tooSmall, out _, out _), Is.EqualTo(System.Buffers.OperationStatus.DestinationTooSmall));
    }
}
