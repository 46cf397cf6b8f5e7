using DrICL.Training.Data;
using NUnit.Framework;

namespace DrICL.Tests.Data;

public class ByteTokenizerTests
{
    readonly ByteTokenizer tokenizer = new();

    [Test]
    public void AsciiBytesFollowTheThreeSpecials()
    {
        var (ids, offsets) = tokenizer.Encode("Hi!", addBos: true, addEos: true);
        Assert.That(ids, Is.EqualTo(new[] { 1, 3 + 'H', 3 + 'i', 3 + '!', 2 }));
        Assert.That(offsets, Is.EqualTo(new[] { 0, 0, 1, 2, 3 }));
        Assert.That(tokenizer.VocabSize, Is.EqualTo(259));
    }

    [Test]
    public void MultiByteCharactersShareTheirCharacterOffset()
    {
        // é: 2 bytes, €: 3 bytes, 😀: a surrogate pair (chars 2-3) of 4 bytes.
        var (ids, offsets) = tokenizer.Encode("é€😀x");
        Assert.That(ids, Has.Length.EqualTo(10));
        Assert.That(offsets, Is.EqualTo(new[] { 0, 0, 1, 1, 1, 2, 2, 2, 2, 4 }));
        Assert.That(ids[..2], Is.EqualTo(new[] { 3 + 0xC3, 3 + 0xA9 }));
    }

    [Test]
    public void DecodeInvertsEncode([Values("", "plain", "Ünïcødé – 中文 😀\n\ttabs")] string text)
    {
        var (ids, _) = tokenizer.Encode(text, addBos: true, addEos: true);
        Assert.That(tokenizer.Decode(ids), Is.EqualTo(text));
        Assert.That(tokenizer.Decode(ids, skipSpecialTokens: false), Is.EqualTo("<s>" + text + "</s>"));
    }

    [Test]
    public void InvalidUtf8DecodesWithReplacementCharacters()
    {
        Assert.That(tokenizer.Decode([3 + 0xFF, 3 + 'a']), Is.EqualTo("\uFFFDa"));
        Assert.That(tokenizer.Decode([3 + 0xE2, 3 + 0x82]), Is.EqualTo("\uFFFD"), "a truncated three-byte sequence");
    }

    [Test]
    public void LoneSurrogateEncodesAsReplacementCharacter()
    {
        var (ids, offsets) = tokenizer.Encode("a\uD800b");
        Assert.That(ids, Is.EqualTo(new[] { 3 + 'a', 3 + 0xEF, 3 + 0xBF, 3 + 0xBD, 3 + 'b' }));
        Assert.That(offsets, Is.EqualTo(new[] { 0, 1, 1, 1, 2 }));
    }

    [Test]
    public void SpecialTokenTextIsJustBytes()
    {
        var (ids, _) = tokenizer.Encode("</s>");
        Assert.That(ids, Has.Length.EqualTo(4).And.No.EqualTo(tokenizer.EosId));
    }

    [Test]
    public void IdsOutsideTheVocabularyAreRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([259]));
}
