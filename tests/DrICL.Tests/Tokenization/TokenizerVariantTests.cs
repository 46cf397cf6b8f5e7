using DrICL.Model.Tokenization;
using NUnit.Framework;
using static DrICL.Tests.Tokenization.TinyTokenizers;

namespace DrICL.Tests.Tokenization;

/// <summary>Hand-derived encodings of the tiny vocabulary in both metaspace forms (see <see cref="TinyTokenizers"/>).</summary>
public class TokenizerVariantTests
{
    private static readonly BpeTokenizer Old = Load(OldStyle());

    private static void AssertEncodes(BpeTokenizer tokenizer, string text, int[] ids, int[] offsets, bool addBos = false)
    {
        var encoded = tokenizer.Encode(text, addBos);
        Assert.Multiple(() =>
        {
            Assert.That(encoded.Ids, Is.EqualTo(ids), $"ids of \"{text}\"");
            Assert.That(encoded.Offsets, Is.EqualTo(offsets), $"offsets of \"{text}\"");
        });
    }

    [Test]
    public void MergesFollowRankNotPosition()
    {
        // "▁abc": ▁+a (rank 0), then b+c (rank 1) before a+b (rank 2) could apply: ▁a|bc, not ▁ab|c.
        AssertEncodes(Old, "abc abc", [SpaceA, BC, SpaceA, BC], [0, 1, 3, 5]);
        AssertEncodes(Old, "ab", [SpaceAB], [0]);
    }

    [TestCase(1)]
    [TestCase(15)]
    [TestCase(16)]
    [TestCase(200)]
    public void LongPiecesMergeLikeShortOnes(int repeats)
    {
        // "▁abcabc...": ▁a (rank 0), then every b+c (rank 1); a+b never gets its turn. Short pieces are
        // merged by a linear scan, long ones through a priority queue: both must give this.
        string text = string.Concat(Enumerable.Repeat("abc", repeats));
        int[] ids = [SpaceA, BC, .. Enumerable.Repeat(new[] { A, BC }, repeats - 1).SelectMany(x => x)];
        int[] offsets = [0, 1, .. Enumerable.Range(1, repeats - 1).SelectMany(k => new[] { 3 * k, 3 * k + 1 })];
        AssertEncodes(Old, text, ids, offsets);
    }

    [Test]
    public void RunsOfSpacesStayWithTheFollowingWord()
    {
        // "  b" -> "▁▁▁b": one piece, ▁▁ merges first (rank 4), then ▁b (rank 5).
        AssertEncodes(Old, "  b", [SpaceSpace, SpaceB], [0, 1]);
        // " ab" -> "▁▁ab": ▁a (rank 0) wins over ▁▁ (rank 4), then ▁ab.
        AssertEncodes(Old, " ab", [Space, SpaceAB], [0, 0]);
        Assert.That(Old.Decode([SpaceSpace, SpaceB]), Is.EqualTo("  b"));
        Assert.That(Old.Decode([Space, SpaceAB]), Is.EqualTo(" ab"));
    }

    [Test]
    public void ByteFallbackForCharactersOutsideTheVocabulary()
    {
        AssertEncodes(Old, "é", [Space, EAcute], [0, 0]);
        AssertEncodes(Old, "ü", [Space, Byte(0xC3), Byte(0xBC)], [0, 0, 0]);
        AssertEncodes(Old, "a🤗", [SpaceA, Byte(0xF0), Byte(0x9F), Byte(0xA4), Byte(0x97)], [0, 1, 1, 1, 1]);
        Assert.That(Old.Decode([Space, Byte(0xC3), Byte(0xBC), SpaceB]), Is.EqualTo("ü b"));
        // An incomplete sequence decodes to one U+FFFD per byte, as Hugging Face's ByteFallback.
        Assert.That(Old.Decode([SpaceA, Byte(0xF0), Byte(0x9F), B]), Is.EqualTo("a\uFFFD\uFFFDb"));
    }

    [Test]
    public void UnknownCharactersWithoutByteFallback()
    {
        var json = OldStyle();
        json["model"]!["byte_fallback"] = false;
        AssertEncodes(Load(json), "xyz", [Space, 0], [0, 0]);
        json["model"]!["fuse_unk"] = false;
        var unfused = Load(json);
        AssertEncodes(unfused, "xyz", [Space, 0, 0, 0], [0, 0, 1, 2]);
        Assert.That(unfused.Decode([Space, 0, SpaceB]), Is.EqualTo(" b"));
        Assert.That(unfused.Decode([Space, 0, SpaceB], skipSpecialTokens: false), Is.EqualTo("<unk> b"));
    }

    [Test]
    public void SpecialTokensAreMatchedInTheRawText()
    {
        AssertEncodes(Old, "<s>ab</s>", [1, 1, SpaceAB, 2], [0, 0, 3, 5], addBos: true);
        Assert.That(Old.Decode([1, 1, SpaceAB, 2]), Is.EqualTo("ab"));
        Assert.That(Old.Decode([1, 1, SpaceAB, 2], skipSpecialTokens: false), Is.EqualTo("<s><s> ab</s>"));
    }

    [Test]
    public void AddedTokenStripsSurroundingWhitespace()
    {
        // <mask> has lstrip and rstrip: it takes both spaces, and the texts around it are "a" and "b".
        AssertEncodes(Old, "a <mask> b", [SpaceA, Mask, SpaceB], [0, 1, 9]);
        Assert.That(Old.Decode([SpaceA, Mask, SpaceB]), Is.EqualTo("a<mask> b"));
        Assert.That(Old.IsSpecial(Mask), Is.False);
    }

    [Test]
    public void NormalizedAddedTokenIsMatchedInItsNormalizedSpelling()
    {
        // With the Prepend normalizer "<m>" is looked for as "▁<m>": found after a space, not inside a word.
        AssertEncodes(Old, "a <m>b", [SpaceA, M, B], [0, 1, 5]);
        AssertEncodes(Old, "a<m>b", [SpaceA, Byte('<'), Byte('m'), Byte('>'), B], [0, 1, 2, 3, 4]);
    }

    [Test]
    public void EmptyText()
    {
        AssertEncodes(Old, "", [], []);
        AssertEncodes(Old, "", [1], [0], addBos: true);
        var withEos = Old.Encode("ab", addBos: true, addEos: true);
        Assert.That(withEos.Ids, Is.EqualTo(new[] { 1, SpaceAB, 2 }));
        Assert.That(withEos.Offsets, Is.EqualTo(new[] { 0, 0, 2 }));
    }

    [Test]
    public void SpecialIdsComeFromTheTemplateAndTheVocabulary()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Old.BosId, Is.EqualTo(1));
            Assert.That(Old.EosId, Is.EqualTo(2));
            Assert.That(Old.AddsBosByDefault, Is.True);
            Assert.That(Old.AddsEosByDefault, Is.False);
            Assert.That(Old.VocabSize, Is.EqualTo(M + 1));
            Assert.That(Old.IdToToken(SpaceAB), Is.EqualTo("▁ab"));
            Assert.That(Old.IdToToken(M), Is.EqualTo("<m>"));
            Assert.That(Old.TokenToId("<mask>"), Is.EqualTo(Mask));
            Assert.That(Old.IdToToken(10_000), Is.Null);
        });
    }

    [Test]
    public void TokenizerConfigNamesTheEosTheTemplateLacks()
    {
        string dir = Directory.CreateTempSubdirectory("dricl-tok-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), OldStyle().ToJsonString());
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"bos_token": "<s>", "eos_token": {"content": "<mask>"}}""");
            var loaded = BpeTokenizer.Load(Path.Combine(dir, "tokenizer.json"));
            Assert.That((loaded.BosId, loaded.EosId), Is.EqualTo((1, Mask)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void MetaspaceFirstPrependsOnlyAtTheStartOfTheText()
    {
        var first = Load(NewStyle("first", split: false));
        AssertEncodes(first, "abc abc", [SpaceA, BC, SpaceA, BC], [0, 1, 3, 5]);
        // After <s> the text does not start at 0: no '▁', so a|bc rather than the old form's ▁a|bc.
        AssertEncodes(first, "<s>abc", [1, A, BC], [0, 3, 4]);
        AssertEncodes(Old, "<s>abc", [1, SpaceA, BC], [0, 3, 4]);
        // A text already starting with a space gets no second '▁' (the Prepend normalizer adds one regardless).
        AssertEncodes(first, " ab", [SpaceAB], [0]);
        // split: false keeps the run "▁▁" with "c".
        AssertEncodes(first, "ab  c", [SpaceAB, SpaceSpace, C], [0, 2, 4]);
        Assert.That(first.Decode([SpaceAB, SpaceSpace, C]), Is.EqualTo("ab  c"));
    }

    [Test]
    public void MetaspaceAlwaysWithSplitAndIgnoreMerges()
    {
        var json = NewStyle("always", split: true, metaspaceDecoder: true);
        var always = Load(json);
        // split: true cuts before every '▁': "▁ab" "▁" "▁c".
        AssertEncodes(always, "ab  c", [SpaceAB, Space, Space, C], [0, 2, 3, 4]);
        AssertEncodes(always, "<s>abc", [1, SpaceA, BC], [0, 3, 4]);
        // The Metaspace decoder drops the first token's '▁' instead of stripping a space.
        Assert.That(always.Decode([SpaceAB, Space, Space, C]), Is.EqualTo("ab  c"));
        Assert.That(always.Decode([Space, SpaceB]), Is.EqualTo(" b"));

        json["model"]!["ignore_merges"] = true;
        var ignoring = Load(json);
        // "▁abc" is in the vocabulary though no merge makes it: ignore_merges takes the whole word.
        AssertEncodes(ignoring, "abc", [SpaceABC], [0]);
        AssertEncodes(always, "abc", [SpaceA, BC], [0, 1]);
    }

    [Test]
    public void AddPrefixSpaceIsTheOlderSpellingOfPrependScheme()
    {
        var json = NewStyle("always", split: true);
        var pre = json["pre_tokenizer"]!.AsObject();
        pre.Remove("prepend_scheme");
        pre["add_prefix_space"] = false;
        AssertEncodes(Load(json), "ab", [AB], [0]);
        pre["add_prefix_space"] = true;
        AssertEncodes(Load(json), "ab", [SpaceAB], [0]);
    }

    [Test]
    public void StreamingDecoderHoldsBackIncompleteCharacters()
    {
        var stream = Old.CreateStreamingDecoder();
        Assert.Multiple(() =>
        {
            Assert.That(stream.Push(Space), Is.EqualTo(""), "a lone leading space is stripped, so nothing shows yet");
            Assert.That(stream.Push(Byte(0xC3)), Is.EqualTo(""));
            Assert.That(stream.Push(Byte(0xBC)), Is.EqualTo("ü"));
            Assert.That(stream.Push(SpaceB), Is.EqualTo(" b"));
            Assert.That(stream.Push(2), Is.EqualTo(""), "EOS is skipped");
            Assert.That(stream.Push(Byte(0xF0)), Is.EqualTo(""));
            Assert.That(stream.Flush(), Is.EqualTo("\uFFFD"), "an unfinished character shows at the end");
        });

        stream.Reset();
        Assert.That(stream.Push(Byte(0xC3)) + stream.Push(B), Is.EqualTo("\uFFFDb"), "an invalid sequence shows once known invalid");

        var keepSpecials = Old.CreateStreamingDecoder(skipSpecialTokens: false);
        Assert.That(string.Concat(new[] { 1, SpaceAB, 2 }.Select(keepSpecials.Push)), Is.EqualTo("<s> ab</s>"));
    }

    [Test]
    public void StreamingStripsOnlyTheFirstVisibleSpace()
    {
        var stream = Old.CreateStreamingDecoder();
        string text = stream.Push(Space) + stream.Push(Space) + stream.Push(SpaceAB);
        Assert.That(text, Is.EqualTo(Old.Decode([Space, Space, SpaceAB])));
        Assert.That(text, Is.EqualTo("  ab"));
    }
}
