using System.Text.Json.Nodes;
using DrICL.Model.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary>Byte-level BPE over a tiny hand-written vocabulary: the GPT-2 form, ignore_merges, the post_processor forms, refusals.</summary>
public class ByteLevelTokenizerTests
{
    // Ids 0-255: the byte characters in byte order; then these pieces; then the added tokens.
    private const int Gt = 256, He = 257, Gthe = 258, Gth = 259, Bos = 260, Eos = 261;
    private static readonly string[] Pieces = ["Ġt", "he", "Ġthe", "Ġth"];
    private static readonly (string, string)[] Merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he")];

    private static JsonObject Gpt2(bool ignoreMerges = false, JsonNode? postProcessor = null)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevel.CharOf[b].ToString()] = b;
        for (int i = 0; i < Pieces.Length; i++) vocab[Pieces[i]] = 256 + i;
        return new JsonObject
        {
            ["added_tokens"] = new JsonArray(AddedToken(Bos, "<|begin_of_text|>"), AddedToken(Eos, "<|end_of_text|>")),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = postProcessor,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["ignore_merges"] = ignoreMerges, ["vocab"] = vocab,
                ["merges"] = new JsonArray(Merges.Select(m => (JsonNode)$"{m.Item1} {m.Item2}").ToArray()),
            },
        };
    }

    private static JsonObject AddedToken(int id, string content) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
    };

    private static JsonObject Template(string bos) => new()
    {
        ["type"] = "TemplateProcessing",
        ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = bos, ["type_id"] = 0 } },
            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
        ["special_tokens"] = new JsonObject { [bos] = new JsonObject { ["id"] = bos, ["ids"] = new JsonArray(Bos), ["tokens"] = new JsonArray(bos) } },
    };

    private static BpeTokenizer Load(JsonObject json) => BpeTokenizer.FromJson(json.ToJsonString(), "tiny.json");

    // GPT-2 words: "the", " the", "'s", "\n". Only the one with a leading space merges all the way.
    [Test]
    public void EncodesAndDecodesGpt2Words()
    {
        var tokenizer = Load(Gpt2(postProcessor: Template("<|begin_of_text|>")));
        var encoded = tokenizer.Encode("the the's\n");
        Assert.That(encoded.Ids, Is.EqualTo(new[] { 't', He, Gthe, '\'', 's', '\n' }));
        Assert.That(encoded.Offsets, Is.EqualTo(new[] { 0, 1, 3, 7, 8, 9 }));
        Assert.That(tokenizer.Decode(encoded.Ids), Is.EqualTo("the the's\n"));
        Assert.That(tokenizer.Encode("<|begin_of_text|>the").Ids, Is.EqualTo(new[] { Bos, 't', He }), "added tokens are cut out first");
        Assert.That(tokenizer.Decode([Bos, Gthe, Eos]), Is.EqualTo(" the"));
        Assert.That(tokenizer.Decode([Bos, Gthe, Eos], skipSpecialTokens: false), Is.EqualTo("<|begin_of_text|> the<|end_of_text|>"));
    }

    [Test]
    public void IgnoreMergesTakesAWordThatIsAToken()
    {
        Assert.That(Load(Gpt2(ignoreMerges: false)).Encode(" th").Ids, Is.EqualTo(new[] { Gt, 'h' }));
        Assert.That(Load(Gpt2(ignoreMerges: true)).Encode(" th").Ids, Is.EqualTo(new[] { Gth }));
    }

    [Test]
    public void BosComesFromThePostProcessorInEitherForm()
    {
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true };
        foreach (var post in new JsonNode[] { Template("<|begin_of_text|>"), new JsonObject { ["type"] = "Sequence", ["processors"] = new JsonArray(byteLevel, Template("<|begin_of_text|>")) } })
        {
            var tokenizer = Load(Gpt2(postProcessor: post));
            Assert.That((tokenizer.AddsBosByDefault, tokenizer.BosId), Is.EqualTo((true, Bos)));
            Assert.That(tokenizer.Encode("the", addBos: tokenizer.AddsBosByDefault).Ids, Is.EqualTo(new[] { Bos, 't', He }));
        }
    }

    [Test]
    public void StreamingHoldsBackHalfACharacter()
    {
        var stream = Load(Gpt2(postProcessor: Template("<|begin_of_text|>"))).CreateStreamingDecoder();
        Assert.That(stream.Push(0xC3), Is.Empty, "the first byte of é");
        Assert.That(stream.Push(0xA9), Is.EqualTo("é"));
        Assert.That(stream.Push(Gthe), Is.EqualTo(" the"));
        Assert.That(stream.Push(0xE2), Is.Empty);
        Assert.That(stream.Flush(), Is.EqualTo("\uFFFD"), "an unfinished character at the end");
    }

    private static void AssertRefused(JsonObject json, string inMessage)
    {
        var e = Assert.Throws<TokenizerLoadException>(() => Load(json))!;
        Assert.That(e.Message, Does.StartWith("tiny.json: ").And.Contain(inMessage));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public void UnsupportedByteLevelFormsAreRefused()
    {
        var otherRegex = Gpt2(postProcessor: Template("<|begin_of_text|>"));
        otherRegex["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = "\\p{L}+" }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
        };
        AssertRefused(otherRegex, "Split pattern");
        AssertRefused(otherRegex, "(the supported one is Llama 3's)");

        var prefixSpace = Gpt2(postProcessor: Template("<|begin_of_text|>"));
        prefixSpace["pre_tokenizer"]!["add_prefix_space"] = true;
        AssertRefused(prefixSpace, "ByteLevel with add_prefix_space");

        var fuse = Gpt2(postProcessor: Template("<|begin_of_text|>"));
        fuse["decoder"] = new JsonObject { ["type"] = "Fuse" };
        AssertRefused(fuse, "a ByteLevel pre_tokenizer without a ByteLevel decoder");
    }

    [Test]
    public void BadIdsAreRefused()
    {
        var duplicate = Gpt2(postProcessor: Template("<|begin_of_text|>"));
        duplicate["model"]!["vocab"]!["Ġth"] = He;
        AssertRefused(duplicate, "model.vocab['Ġth'] has id 257, already the id of 'he'");

        var outOfRange = Gpt2(postProcessor: Template("<|begin_of_text|>"));
        outOfRange["model"]!["vocab"]!["Ġth"] = 1_000_000;
        AssertRefused(outOfRange, "model.vocab['Ġth'] id 1000000 is out of range (the file defines 262 tokens)");

        var clash = Gpt2(postProcessor: Template("<|begin_of_text|>"));
        clash["added_tokens"]![0]!["id"] = He;
        AssertRefused(clash, "added_tokens[0] '<|begin_of_text|>' has id 257, already the id of 'he'");
    }
}
