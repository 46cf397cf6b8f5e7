using DrICL.Kernels;
using DrICL.Model.Safetensors;
using DrICL.Tests.Ilgpu;
using DrICL.Tests.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Model.Inference;

public class GenerateCliTests
{
    static int[] Ints(SafetensorsFile file, string name) => file.ReadFloats(name).Select(x => (int)x).ToArray();

    [TestCaseSource(typeof(DecodeModelTests), nameof(DecodeModelTests.Models))]
    public void ReproducesTheFixturesGreedyTokens(string name) => GreedyThroughTheCli(name, "cpu");

    /// <summary>
    /// The same through `--device cuda:0` (the training Transformer on the ILGPU kernels) where ILGPU finds a GPU, else
    /// through `--device ilgpu-cpu`, the same kernels on ILGPU's CPU accelerator (about 12 s per fixture).
    /// </summary>
    [TestCaseSource(typeof(DecodeModelTests), nameof(DecodeModelTests.Models)), Category("Gpu")]
    public void ReproducesTheFixturesGreedyTokensOnTheGpuKernels(string name) => GreedyThroughTheCli(name, GpuDeviceName());

    // The name of the device IlgpuParityTests opens, which is also its --device option: cuda:0 or ilgpu-cpu.
    static string GpuDeviceName()
    {
        using var device = IlgpuParityTests.OpenDevice(ComputePrecision.Fp32);
        return device.Name;
    }

    static void GreedyThroughTheCli(string name, string device)
    {
        using var expected = new SafetensorsFile(Fixtures.File("models", name, "expected.safetensors"));
        int[] prompt = Ints(expected, "generate.prompt"), greedy = Ints(expected, "generate.greedy");
        var (exit, output, error) = CliRunner.Run("generate", "--model", Fixtures.File("models", name), "--prompt-ids", string.Join(",", prompt),
            "--max-tokens", greedy.Length.ToString(), "--temperature", "0", "--dtype", "f32", "--print-ids", "--device", device);
        Assert.That(exit, Is.Zero, error);
        // The Mistral fixture's greedy run ends at EOS (id 2) before 12 tokens only if the fixture says so.
        Assert.That(output.Trim(), Is.EqualTo(string.Join(",", greedy)));
        Assert.That(error, Does.Match(@"prefill 8 tokens, [\d.]+ tok/s; decode \d+ tokens, [\d.]+ tok/s"));
    }

    [Test]
    public void StopsAtAnEosIdOfGenerationConfig()
    {
        using var expected = new SafetensorsFile(Fixtures.File("models", "tiny-llama-f32", "expected.safetensors"));
        int[] prompt = Ints(expected, "generate.prompt"), greedy = Ints(expected, "generate.greedy");
        int last = Enumerable.Range(1, greedy.Length - 1).First(i => !greedy[..i].Contains(greedy[i]));  // the first repeat-free id after the first
        string folder = InferenceFolders.FixtureWithTokenizer("tiny-llama-f32", TinyTokenizers.OldStyle().ToJsonString());
        try
        {
            File.WriteAllText(Path.Combine(folder, "generation_config.json"), $"{{\"eos_token_id\": [2, {greedy[last]}]}}");
            var (exit, output, error) = CliRunner.Run("generate", "--model", folder, "--prompt-ids", string.Join(",", prompt),
                "--max-tokens", greedy.Length.ToString(), "--temperature", "0", "--dtype", "f32", "--print-ids");
            Assert.That(exit, Is.Zero, error);
            Assert.That(output.Trim(), Is.EqualTo(string.Join(",", greedy[..(last + 1)])));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void StreamsTextAndStopsAtAStopString()
    {
        string model = InferenceFolders.WithTokenizer;
        string[] common = ["generate", "--model", model, "--prompt", "a b c", "--max-tokens", "24", "--temperature", "0"];
        var (exit, full, error) = CliRunner.Run(common);
        Assert.That(exit, Is.Zero, error);
        string text = full.TrimEnd('\n');
        Assert.That(text, Is.Not.Empty);
        int at = text.IndexOfAny(['a', 'b', 'c'], text.Length / 2);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), $"no letter of the tiny vocabulary in the second half of {text}");
        string stop = text.Substring(at, 1);
        var (stopExit, cut, _) = CliRunner.Run([.. common, "--stop", stop]);
        Assert.That(stopExit, Is.Zero);
        Assert.That(cut.TrimEnd('\n'), Is.EqualTo(text[..text.IndexOf(stop, StringComparison.Ordinal)]));
    }

    [Test]
    public void ChatFlagWrapsThePromptInTheTemplate()
    {
        var (exit, output, error) = CliRunner.Run("generate", "--model", InferenceFolders.WithTokenizer, "--prompt", "hi", "--chat",
            "--max-tokens", "4", "--temperature", "0", "--print-ids");
        Assert.That(exit, Is.Zero, error);
        // "<s>[INST] hi [/INST]" in the tiny tokenizer: <s>, 6 bytes of "[INST]", ▁, bytes of "hi" ...
        Assert.That(error, Does.Match(@"prefill (\d+) tokens"));
        int prefilled = int.Parse(System.Text.RegularExpressions.Regex.Match(error, @"prefill (\d+) tokens").Groups[1].Value);
        var tokenizer = TinyTokenizers.Load(TinyTokenizers.OldStyle());
        Assert.That(prefilled, Is.EqualTo(tokenizer.Encode("<s>[INST] hi [/INST]").Ids.Length));
    }

    static IEnumerable<TestCaseData> BadInput()
    {
        string fixture = Fixtures.File("models", "tiny-llama-f32");
        yield return new TestCaseData((object)new[] { "--model", fixture, "--prompt-ids", "1,2,3,4,5,6", "--context", "4", "--print-ids" }, "the prompt is 6 tokens, the context holds 4").SetName("PromptLongerThanTheContext");
        yield return new TestCaseData((object)new[] { "--model", fixture, "--prompt", "hello" }, "no tokenizer.json").SetName("FolderWithoutTokenizer");
        yield return new TestCaseData((object)new[] { "--model", fixture, "--prompt-ids", "1", "--max-tokens", "0" }, "--max-tokens 0").SetName("MaxTokensZero");
        yield return new TestCaseData((object)new[] { "--model", fixture, "--prompt-ids", "1", "--max-tokens", "-3" }, "--max-tokens -3").SetName("MaxTokensNegative");
        yield return new TestCaseData((object)new[] { "--model", fixture, "--prompt-ids", "1", "--top-p", "0" }, "--top-p 0: must be in (0, 1]").SetName("TopPZero");
        yield return new TestCaseData((object)new[] { "--model", fixture, "--prompt-ids", "1", "--top-p", "1.5" }, "--top-p 1.5: must be in (0, 1]").SetName("TopPAboveOne");
        yield return new TestCaseData((object)new[] { "--model", fixture, "--prompt-ids", "1", "--temperature", "-0.5" }, "--temperature -0.5").SetName("NegativeTemperature");
        yield return new TestCaseData((object)new[] { "--model", fixture, "--prompt-ids", "1,64", "--print-ids" }, "'64' is not a token id below the vocabulary size 64").SetName("IdOutsideTheVocabulary");
    }

    [TestCaseSource(nameof(BadInput))]
    public void BadInputIsOneLineAndExitTwo(string[] args, string message)
    {
        var (exit, output, error) = CliRunner.Run(["generate", .. args]);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.StartWith("error: ").And.Contain(message));
    }

    [Test]
    public void TokenizerWithMoreIdsThanTheModelIsRefused()
    {
        string folder = InferenceFolders.FixtureWithTokenizer("tiny-llama-f32", TinyTokenizers.OldStyle().ToJsonString());
        try
        {
            var (exit, _, error) = CliRunner.Run("generate", "--model", folder, "--prompt", "abc");
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(error, Does.StartWith("error: ").And.Contain("tokens, but the model in").And.Contain("has a vocabulary of 64"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
