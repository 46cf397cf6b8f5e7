using System.Text.Json.Nodes;
using DrICL.Model.Tokenization;

namespace DrICL.Tests.Tokenization;

/// <summary>
/// Hand-written tokenizer.json files over a tiny vocabulary, in the two metaspace forms of the family:
/// ids 0-2 are &lt;unk&gt; &lt;s&gt; &lt;/s&gt;, 3-258 the byte tokens &lt;0x00&gt;..&lt;0xFF&gt;, then the pieces below.
/// Merge ranks deliberately disagree with left-to-right order ("b c" before "a b").
/// </summary>
internal static class TinyTokenizers
{
    public const int Space = 259, A = 260, B = 261, C = 262, SpaceA = 263, BC = 264, AB = 265, SpaceAB = 266,
        SpaceSpace = 267, SpaceB = 268, EAcute = 269, SpaceABC = 270, Mask = 271, M = 272;

    public static int Byte(int b) => 3 + b;

    private static readonly string[] Pieces = ["▁", "a", "b", "c", "▁a", "bc", "ab", "▁ab", "▁▁", "▁b", "é", "▁abc"];
    private static readonly (string, string)[] Merges = [("▁", "a"), ("b", "c"), ("a", "b"), ("▁a", "b"), ("▁", "▁"), ("▁", "b")];

    /// <summary>Llama-2 as first converted: normalizer Prepend('▁') + Replace(' ', '▁'), no pre-tokenizer.</summary>
    public static JsonObject OldStyle() => Build(
        normalizer: new JsonObject
        {
            ["type"] = "Sequence",
            ["normalizers"] = new JsonArray(
                new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
        },
        preTokenizer: null,
        decoder: StripDecoder(),
        arrayMerges: false);

    /// <summary>The newer form: no normalizer, a Metaspace pre-tokenizer, merges as [a, b] arrays.</summary>
    public static JsonObject NewStyle(string prependScheme, bool split, bool metaspaceDecoder = false) => Build(
        normalizer: null,
        preTokenizer: new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = prependScheme, ["split"] = split },
        decoder: metaspaceDecoder
            ? new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = prependScheme, ["split"] = split },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" }),
            }
            : StripDecoder(),
        arrayMerges: true);

    public static BpeTokenizer Load(JsonObject json) => BpeTokenizer.FromJson(json.ToJsonString(), "tiny.json");

    private static JsonObject StripDecoder() => new()
    {
        ["type"] = "Sequence",
        ["decoders"] = new JsonArray(
            new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
            new JsonObject { ["type"] = "ByteFallback" },
            new JsonObject { ["type"] = "Fuse" },
            new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
    };

    private static JsonObject Build(JsonObject? normalizer, JsonObject? preTokenizer, JsonObject decoder, bool arrayMerges)
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++) vocab[$"<0x{b:X2}>"] = Byte(b);
        for (int i = 0; i < Pieces.Length; i++) vocab[Pieces[i]] = Space + i;
        var merges = new JsonArray();
        foreach (var (l, r) in Merges) merges.Add(arrayMerges ? new JsonArray(l, r) : (JsonNode)$"{l} {r}");
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(
                Added(0, "<unk>", special: true),
                Added(1, "<s>", special: true),
                Added(2, "</s>", special: true),
                Added(Mask, "<mask>", special: false, lstrip: true, rstrip: true),
                Added(M, "<m>", special: false, normalized: true)),
            ["normalizer"] = normalizer,
            ["pre_tokenizer"] = preTokenizer,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["special_tokens"] = new JsonObject
                {
                    ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") },
                },
            },
            ["decoder"] = decoder,
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["unk_token"] = "<unk>",
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
    }

    private static JsonObject Added(int id, string content, bool special, bool lstrip = false, bool rstrip = false, bool normalized = false) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = lstrip, ["rstrip"] = rstrip,
        ["normalized"] = normalized, ["special"] = special,
    };
}
