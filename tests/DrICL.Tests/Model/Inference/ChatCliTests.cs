using System.Text.RegularExpressions;
using DrICL.Tests.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Model.Inference;

public class ChatCliTests
{
    static int[] Prefills(string stderr) => Regex.Matches(stderr, @"\[prefill (\d+) tokens").Select(m => int.Parse(m.Groups[1].Value)).ToArray();

    [Test]
    public void TurnsKeepTheCacheResetForgetsAndExitEnds()
    {
        var (exit, output, error) = CliRunner.RunWithInput("a b\nc a b\n/reset\nb c\n/exit\nnever read\n",
            "chat", "--model", InferenceFolders.WithTokenizer, "--max-tokens", "6", "--temperature", "0");
        Assert.That(exit, Is.Zero, error);
        var tokenizer = TinyTokenizers.Load(TinyTokenizers.OldStyle());
        int Tokens(string text) => tokenizer.Encode(text).Ids.Length;
        var prefills = Prefills(error);
        Assert.That(prefills, Has.Length.EqualTo(3), error);
        Assert.That(prefills[0], Is.EqualTo(Tokens("<s>[INST] a b [/INST]")), "the first turn runs its whole prompt");
        // The reply's ids (its EOS included) are already cached: the second turn runs only its own template text.
        Assert.That(prefills[1], Is.EqualTo(Tokens("<s>[INST] c a b [/INST]")), "the second turn prefills only its own tokens");
        Assert.That(error, Does.Contain("(conversation reset)"));
        // After /reset the conversation is "<s>[INST] b c [/INST]" alone; the cache still holds "<s>[INST] " and reuses it.
        Assert.That(prefills[2], Is.EqualTo(Tokens("<s>[INST] b c [/INST]") - Tokens("<s>[INST]")));
        Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, Is.LessThanOrEqualTo(3));
    }

    [Test]
    public void DropsTheOldestTurnsWhenTheContextIsFull()
    {
        var (exit, _, error) = CliRunner.RunWithInput("a b c\nb c a\nc a b\na a a\n",
            "chat", "--model", InferenceFolders.WithTokenizer, "--max-tokens", "8", "--temperature", "0", "--context", "40");
        Assert.That(exit, Is.Zero, error);
        Assert.That(error, Does.Contain("dropped the oldest turn"));
        Assert.That(Prefills(error), Has.Length.EqualTo(4), error);
    }

    [Test]
    public void EndOfInputEndsTheChat()
    {
        var (exit, _, error) = CliRunner.RunWithInput("a\n", "chat", "--model", InferenceFolders.WithTokenizer, "--max-tokens", "3", "--temperature", "0");
        Assert.That(exit, Is.Zero, error);
        Assert.That(Prefills(error), Has.Length.EqualTo(1));
    }
}
