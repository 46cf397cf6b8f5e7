using System.Text.Json.Nodes;
using System.Text.Json;
using DrICL.Cli;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary><c>dricl tokenize</c> and <c>dricl bench tokenizer</c> through the CLI entry point.</summary>
[NonParallelizable]
public class TokenizeCliTests
{
    private string tempDir = "";

    [SetUp]
    public void CreateTempDir() => Directory.CreateDirectory(tempDir = Path.Combine(Path.GetTempPath(), "dricl-cli-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void DeleteTempDir() => Directory.Delete(tempDir, recursive: true);

    private static (int Exit, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Test]
    public void GoldenCasesAllMatch()
    {
        var (exit, output, _) = Run("tokenize", "--tokenizer", MistralTokenizer.JsonPath, "--cases", MistralTokenizer.CasesPath);
        Assert.That(output.TrimEnd(), Does.EndWith("83/83 cases match"));
        Assert.That(exit, Is.Zero);
    }

    [Test]
    public void Llama3GoldenCasesAllMatch()
    {
        var (exit, output, _) = Run("tokenize", "--tokenizer", Llama3TokenizerTests.JsonPath, "--cases", Fixtures.File("tokenizers", "llama3", "cases.json"));
        Assert.That(output.TrimEnd(), Does.EndWith("65/65 cases match"));
        Assert.That(exit, Is.Zero);
    }

    [Test]
    public void ChatCasesAllMatch()
    {
        var (exit, output, _) = Run("tokenize", "--tokenizer", MistralTokenizer.JsonPath, "--chat-cases", MistralTokenizer.ChatCasesPath);
        Assert.That(output.TrimEnd(), Does.EndWith("9/9 chat cases match"));
        Assert.That(exit, Is.Zero);
    }

    [Test]
    public void MismatchesArePrintedAndFail()
    {
        var cases = new JsonObject
        {
            ["cases"] = new JsonArray(
                new JsonObject { ["text"] = "Hello world", ["ids"] = new JsonArray(1, 22557, 1526), ["decoded"] = "Hello world" },
                new JsonObject { ["text"] = "Hello world", ["ids"] = new JsonArray(1, 22557, 9999), ["decoded"] = "Hello world" }),
        };
        string path = Path.Combine(tempDir, "cases.json");
        File.WriteAllText(path, cases.ToJsonString());
        var (exit, output, _) = Run("tokenize", "--tokenizer", MistralTokenizer.JsonPath, "--cases", path);
        Assert.That(output, Does.Contain("case 1 \"Hello world\": ids differ from token 2: expected 9999, got 1526"));
        Assert.That(output.TrimEnd(), Does.EndWith("1/2 cases match"));
        Assert.That(exit, Is.EqualTo(1));
    }

    [Test]
    public void TextShowsIdsAndPieces()
    {
        var (exit, output, _) = Run("tokenize", "--tokenizer", MistralTokenizer.JsonPath, "Hello world");
        Assert.That(output, Does.Contain("ids:     [1, 22557, 1526]"));
        Assert.That(output, Does.Contain("[\"<s>\",\"▁Hello\",\"▁world\"]"));
        Assert.That(exit, Is.Zero);
    }

    [Test]
    public void ShippedTokenizerIsTheDefault()
    {
        var (exit, output, _) = Run("tokenize", "Hello world");
        Assert.That(output, Does.Contain("ids:     [1, 22557, 1526]"));
        Assert.That(exit, Is.Zero);
    }

    [TestCase("missing")]
    [TestCase("badjson")]
    [TestCase("wordpiece")]
    public void UnusableTokenizerIsOneLineOnStderr(string kind)
    {
        string path = Path.Combine(tempDir, "tokenizer.json");
        if (kind == "badjson") File.WriteAllText(path, "{\"model\": [");
        if (kind == "wordpiece") File.WriteAllText(path, """{"model": {"type": "WordPiece", "vocab": {}}}""");
        var (exit, output, error) = Run("tokenize", "--tokenizer", path, "--cases", MistralTokenizer.CasesPath);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(output, Is.Empty);
            Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
            Assert.That(error, Does.StartWith("error: " + path));
        });
    }

    [Test]
    public void UnusableCasesFileIsOneLineOnStderr()
    {
        string path = Path.Combine(tempDir, "cases.json");
        File.WriteAllText(path, "{\"cases\": [{\"text\": 5}]}");
        var (exit, _, error) = Run("tokenize", "--tokenizer", MistralTokenizer.JsonPath, "--cases", path);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.TrimEnd(), Is.EqualTo($"error: {path}: \"text\" is not a string"));
    }

    [Test]
    public void BenchWritesThroughputJson()
    {
        string json = Path.Combine(tempDir, "bench.json");
        var (exit, output, error) = Run("bench", "tokenizer", "--tokenizer", MistralTokenizer.JsonPath, "--llama3-tokenizer", Llama3TokenizerTests.JsonPath, "--megabytes", "0.05", "--repeat", "1", "--json", json);
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("MB/s"));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.That(doc.RootElement.GetProperty("encode_mb_per_s").GetDouble(), Is.GreaterThan(0));
        Assert.That(doc.RootElement.GetProperty("encode_tokens_per_s").GetDouble(), Is.GreaterThan(0));
        Assert.That(doc.RootElement.GetProperty("llama3").GetProperty("encode_mb_per_s").GetDouble(), Is.GreaterThan(0));
        Assert.That(output, Does.Contain("mistral").And.Contain("llama3"));
    }

    [Test]
    public void BenchTextIsDeterministic()
    {
        string a = BenchText.Generate(20_000, seed: 7), b = BenchText.Generate(20_000, seed: 7);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(System.Text.Encoding.UTF8.GetByteCount(a), Is.InRange(20_000, 20_400));
        Assert.That(a, Does.Match("[^\\x00-\\x7f]"), "includes non-ASCII text");
    }
}
