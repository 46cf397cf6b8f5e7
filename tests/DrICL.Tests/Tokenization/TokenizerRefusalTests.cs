using System.Text.Json.Nodes;
using DrICL.Model.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary>Files outside the SentencePiece-style BPE family, or broken ones, fail with a message naming file and cause.</summary>
public class TokenizerRefusalTests
{
    private static void AssertRefused(string json, params string[] inMessage)
    {
        var e = Assert.Throws<TokenizerLoadException>(() => BpeTokenizer.FromJson(json, "other/tokenizer.json"))!;
        Assert.That(e.Message, Does.StartWith("other/tokenizer.json: "));
        foreach (var s in inMessage) Assert.That(e.Message, Does.Contain(s));
    }

    [Test]
    public void OtherModelsAreRefused()
    {
        AssertRefused("""
            {"normalizer": {"type": "BertNormalizer", "lowercase": true},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "vocab": {"[UNK]": 0}}}
            """, "model type 'WordPiece'");
        AssertRefused("""{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]}}""", "model type 'Unigram'");
    }

    [Test]
    public void UnknownComponentsAreRefused()
    {
        var nfkc = TinyTokenizers.OldStyle();
        nfkc["normalizer"]!["normalizers"]!.AsArray().Insert(0, new JsonObject { ["type"] = "NFKC" });
        AssertRefused(nfkc.ToJsonString(), "normalizer 'NFKC'");

        var regex = TinyTokenizers.OldStyle();
        regex["normalizer"]!["normalizers"]![1]!["pattern"] = new JsonObject { ["Regex"] = "\\s" };
        AssertRefused(regex.ToJsonString(), "Regex");

        var noMetaspace = TinyTokenizers.OldStyle();
        noMetaspace["normalizer"] = null;
        AssertRefused(noMetaspace.ToJsonString(), "no metaspace");

        var roberta = TinyTokenizers.OldStyle();
        roberta["post_processor"] = new JsonObject { ["type"] = "RobertaProcessing" };
        AssertRefused(roberta.ToJsonString(), "post_processor 'RobertaProcessing'");

        var dropout = TinyTokenizers.OldStyle();
        dropout["model"]!["dropout"] = 0.1;
        AssertRefused(dropout.ToJsonString(), "dropout");
    }

    [Test]
    public void BrokenFilesNameTheProblem()
    {
        AssertRefused("{\"model\": ", "invalid JSON");
        AssertRefused("[1, 2]", "not a JSON object");

        var noVocab = TinyTokenizers.OldStyle();
        noVocab["model"]!.AsObject().Remove("vocab");
        AssertRefused(noVocab.ToJsonString(), "missing field 'model.vocab'");

        var badMerge = TinyTokenizers.OldStyle();
        badMerge["model"]!["merges"]!.AsArray().Add("x y");
        AssertRefused(badMerge.ToJsonString(), "merge 'x y'");

        var badId = TinyTokenizers.OldStyle();
        badId["model"]!["vocab"]!["a"] = "one";
        AssertRefused(badId.ToJsonString(), "model.vocab['a']");

        var noDecoder = TinyTokenizers.OldStyle();
        noDecoder["decoder"] = null;
        AssertRefused(noDecoder.ToJsonString(), "no decoder");
    }

    [Test]
    public void MissingFileNamesThePath()
    {
        string path = Path.Combine(Path.GetTempPath(), "dricl-no-such-dir", "tokenizer.json");
        var e = Assert.Throws<TokenizerLoadException>(() => BpeTokenizer.Load(path))!;
        Assert.That(e.Message, Does.StartWith(path));
    }
}
