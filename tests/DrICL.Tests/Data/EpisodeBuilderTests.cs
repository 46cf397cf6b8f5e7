using DrICL.Model;
using System.Text.Json;
using DrICL.Model.Tokenization;
using DrICL.Training.Data;
using NUnit.Framework;
using Microsoft.ML.Tokenizers;

namespace DrICL.Tests.Data;

public class EpisodeBuilderTests
{
    static readonly ByteTokenizer Bytes = new();

    static int B(char c) => ByteTokenizer.ByteOffset + c;

    static IclTask Numbered(int count, string instruction = "Do it.") =>
        new("numbered", instruction, "qa", [.. Enumerable.Range(1, count).Select(i => new TaskExample($"in{i}", $"out{i}"))]);

    static EpisodeContent ContentOf(IclTask task) =>
        new(task.Instruction, [.. task.Examples.Select(DemonstrationTemplate.Default.Render)]);

    /// <summary>The fixture layout rules, the round trip, and each answer's recorded span.</summary>
    static void CheckEpisode(Episode episode, Tokenizer tokenizer)
    {
        int supervised = LayoutInvariants.Check(episode.InputIds, episode.Labels, episode.DemoIds, episode.SegmentIds,
            episode.PositionIds, tokenizer.BosId, tokenizer.EosId, cutAtEnd: false);
        Assert.That(supervised, Is.EqualTo(episode.DemonstrationCount));
        Assert.That(tokenizer.Decode(episode.InputIds), Is.EqualTo(episode.Text), "decoding the ids gives the rendered text");
        for (int k = 0; k < episode.DemonstrationCount; k++)
        {
            var answer = episode.Answers[k];
            Assert.That(episode.InputIds[answer.EosPosition], Is.EqualTo(tokenizer.EosId));
            Assert.That(episode.DemoIds[answer.TokenStart - 1], Is.EqualTo(k + 1), "the position before the answer predicts its first token");
            Assert.That(episode.DemoIds[answer.TokenStart - 2], Is.Zero, "and no earlier one");
            Assert.That(tokenizer.Decode(episode.InputIds.AsSpan(answer.TokenStart, answer.EosPosition - answer.TokenStart)),
                Does.EndWith(episode.Text[answer.CharStart..answer.CharEnd]));
        }
    }

    [Test]
    public void SmallEpisodeHasTheExactFixtureLayout()
    {
        var template = new DemonstrationTemplate("|", "=");
        var content = new EpisodeContent("Q", [template.Render(new TaskExample("ab", "c")), template.Render(new TaskExample("d", "ef"))]);
        var episode = new EpisodeBuilder(Bytes).Build(content, maxTokens: 100);

        const int Eos = 2, No = Episode.IgnoreLabel;
        Assert.That(episode.Text, Is.EqualTo("Q|ab=c|d=ef"));
        Assert.That(episode.InputIds, Is.EqualTo(new[] { 1, B('Q'), B('|'), B('a'), B('b'), B('='), B('c'), Eos, B('|'), B('d'), B('='), B('e'), B('f'), Eos }));
        Assert.That(episode.SegmentIds, Is.EqualTo(new[] { 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2 }));
        Assert.That(episode.Labels, Is.EqualTo(new[] { No, No, No, No, No, B('c'), Eos, No, No, No, B('e'), B('f'), Eos, No }));
        Assert.That(episode.DemoIds, Is.EqualTo(new[] { 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 2, 2, 2, 0 }));
        Assert.That(episode.PositionIds, Is.EqualTo(Enumerable.Range(0, 14)));
        Assert.That(episode.Answers, Is.EqualTo(new[] { new AnswerSpan(5, 6, 6, 7), new AnswerSpan(9, 11, 11, 13) }));
        Assert.That(episode.QueryAnswer, Is.EqualTo("ef"));
        CheckEpisode(episode, Bytes);
    }

    [Test]
    public void FixtureRowsFollowTheCheckedLayoutRules([Values("tiny-llama-f32", "tiny-mistral-gqa-bf16")] string model)
    {
        var inputs = FixtureInputs.Read(Fixtures.File("models", model, "inputs.safetensors"));
        using var caseJson = JsonDocument.Parse(File.ReadAllText(Fixtures.File("models", model, "case.json")));
        var demosPerSequence = caseJson.RootElement.GetProperty("demos_per_sequence").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        for (int b = 0; b < demosPerSequence.Length; b++)
        {
            int demos = LayoutInvariants.Check(inputs["input_ids"][b], inputs["labels"][b], inputs["demo_ids"][b], inputs["segment_ids"][b],
                inputs["position_ids"][b], bos: 1, eos: 2, cutAtEnd: true);
            Assert.That(demos, Is.EqualTo(demosPerSequence[b]), $"row {b}");
        }
    }

    [Test]
    public void DefaultTemplateRendersTheDocumentedText()
    {
        var episode = new EpisodeBuilder(Bytes).Build(ContentOf(Numbered(2)), 1000);
        Assert.That(episode.Text, Is.EqualTo("Do it.\n\nInput: in1\nOutput: out1\n\nInput: in2\nOutput: out2"));
        Assert.That(episode.SegmentIds.Count(s => s == 0), Is.EqualTo(1 + "Do it.".Length));
        CheckEpisode(episode, Bytes);
    }

    [Test]
    public void UnicodeTextRoundTripsThroughByteTokens()
    {
        var task = new IclTask("uni", "Traduis 😀 :", "generation", [new TaskExample("chat", "猫"), new TaskExample("été", "夏天 ☀")]);
        var episode = new EpisodeBuilder(Bytes).Build(ContentOf(task), 1000);
        CheckEpisode(episode, Bytes);
        Assert.That(episode.QueryAnswer, Is.EqualTo("夏天 ☀"));
        Assert.That(episode.Answers[1].EosPosition - episode.Answers[1].TokenStart, Is.EqualTo(10), "3 + 3 + 1 + 3 UTF-8 bytes");
    }

    [Test]
    public void MergedTokensAcrossBoundariesFollowTheFirstCharacterRule()
    {
        // ".\n\nIn" starts in the instruction and runs into demonstration 1: it belongs to the prefix.
        // ": p" starts in the prompt and holds the answer's first character: it is the answer's first token.
        var tokenizer = new MergingTokenizer("Rate", " it", ".\n\nIn", "put: ", "\n\nInput: ", "\nOutput", ": p", "ositive", "negative", ": ");
        var task = new IclTask("rate", "Rate it.", "classification", [new TaskExample("fun", "positive"), new TaskExample("dull", "negative")]);
        var episode = new EpisodeBuilder(tokenizer).Build(ContentOf(task), 1000);

        CheckEpisode(episode, tokenizer);
        Assert.That(episode.SegmentIds.Count(s => s == 0), Is.EqualTo(4), "BOS, Rate, ' it', '.\\n\\nIn'");
        var first = episode.Answers[0];
        Assert.That(tokenizer.Decode(episode.InputIds.AsSpan(first.TokenStart, first.EosPosition - first.TokenStart)), Is.EqualTo(": positive"));
        Assert.That(tokenizer.Decode(episode.InputIds.AsSpan(0, first.TokenStart)), Does.EndWith("\nOutput"));
        Assert.That(episode.Labels[first.TokenStart - 1], Is.EqualTo(episode.InputIds[first.TokenStart]));
        var query = episode.Query;
        Assert.That(tokenizer.Decode(episode.InputIds.AsSpan(query.TokenStart, query.EosPosition - query.TokenStart)), Is.EqualTo("negative"));
        Assert.That(episode.InputIds.Length, Is.EqualTo(tokenizer.Encode(episode.Text, addBos: true).Ids.Length + 2), "one EOS per demonstration");
    }

    [Test]
    public void AnswerEndMergedWithTheNextTextIsAnError()
    {
        var tokenizer = new MergingTokenizer("e\n\n");
        var task = new IclTask("rate", "Go.", "classification", [new TaskExample("fun", "positive"), new TaskExample("dull", "negative")]);
        var error = Assert.Throws<EpisodeLayoutException>(() => new EpisodeBuilder(tokenizer).Build(ContentOf(task), 1000));
        Assert.That(error!.Message, Does.StartWith("demonstration 1: the tokenizer merged the end of the answer \"positive\""));
    }

    [Test]
    public void SpecialTokensInTheTextAreAnError()
    {
        var task = new IclTask("t", "", "qa", [new TaskExample("a </s> b", "x"), new TaskExample("c", "d")]);
        var error = Assert.Throws<EpisodeLayoutException>(() => new EpisodeBuilder(new MergingTokenizer()).Build(ContentOf(task), 1000));
        Assert.That(error!.Message, Does.Contain("special token (id 2)"));
    }

    [Test]
    public void AnAnswerNeedsAPromptTokenOfItsOwn()
    {
        var content = new EpisodeContent("I", [new Demonstration(":", "a"), new Demonstration("", "b")]);
        var error = Assert.Throws<EpisodeLayoutException>(() => new EpisodeBuilder(Bytes).Build(content, 100));
        Assert.That(error!.Message, Does.StartWith("demonstration 2: no token of its own precedes the answer"));
        Assert.Throws<ArgumentException>(() => new EpisodeBuilder(Bytes).Build(new EpisodeContent("I", [new Demonstration(":", "")]), 100));
    }

    [Test]
    public void EmptyInstructionLeavesOnlyBosInThePrefix()
    {
        var episode = new EpisodeBuilder(Bytes).Build(ContentOf(Numbered(3, instruction: "")), 1000);
        Assert.That(episode.SegmentIds.Count(s => s == 0), Is.EqualTo(1));
        CheckEpisode(episode, Bytes);
    }

    // With the byte tokenizer each default-template demonstration "\n\nInput: inK\nOutput: outK" is 25 bytes + EOS = 26 tokens,
    // and the prefix "Do it." with BOS is 7.
    const int Prefix = 7, PerDemo = 26;

    [TestCase(Prefix + 6 * PerDemo, 0)]
    [TestCase(Prefix + 6 * PerDemo - 1, 1)]
    [TestCase(Prefix + 3 * PerDemo, 3)]
    [TestCase(Prefix + 3 * PerDemo + PerDemo - 1, 3)]
    [TestCase(Prefix + 2 * PerDemo, 4)]
    public void TruncationDropsWholeDemonstrationsFromTheFront(int maxTokens, int dropped)
    {
        var episode = new EpisodeBuilder(Bytes).Build(ContentOf(Numbered(6)), maxTokens);
        Assert.That(episode.DroppedDemonstrations, Is.EqualTo(dropped));
        Assert.That(episode.Length, Is.EqualTo(Prefix + (6 - dropped) * PerDemo).And.LessThanOrEqualTo(maxTokens));
        Assert.That(episode.Text, Does.StartWith($"Do it.\n\nInput: in{dropped + 1}\n"));
        Assert.That(episode.Answers.Select(a => episode.Text[a.CharStart..a.CharEnd]),
            Is.EqualTo(Enumerable.Range(dropped + 1, 6 - dropped).Select(k => $"out{k}")));
        Assert.That(episode.QueryAnswer, Is.EqualTo("out6"));
        CheckEpisode(episode, Bytes);
    }

    [Test]
    public void TooSmallABudgetForOneDemonstrationAndTheQueryIsAnError()
    {
        var builder = new EpisodeBuilder(Bytes);
        var error = Assert.Throws<EpisodeTooLongException>(() => builder.Build(ContentOf(Numbered(6)), Prefix + 2 * PerDemo - 1));
        Assert.That(error!.RequiredTokens, Is.EqualTo(Prefix + 2 * PerDemo));
        Assert.That(error.Message, Is.EqualTo("episode does not fit in 58 tokens: BOS and instruction (7 tokens) with one demonstration and the query need 59"));

        var alone = Assert.Throws<EpisodeTooLongException>(() => builder.Build(ContentOf(Numbered(1)), PerDemo));
        Assert.That(alone!.Message, Does.EndWith("with the query need 33"));
    }

    [Test]
    public void TrainingEpisodesArePinnedAndDrawWithoutReplacement()
    {
        var builder = new EpisodeBuilder(Bytes);
        var task = Numbered(10);
        var episode = builder.SampleTraining(task, task.Examples, 4, new SplitMix64(5), 1000);
        Assert.That(episode.Answers.Select(a => episode.Text[a.CharStart..a.CharEnd]), Is.EqualTo(new[] { "out4", "out8", "out1", "out3" }),
            "indices 3, 7, 0, 2 from the Python reference");
        CheckEpisode(episode, Bytes);

        var again = builder.SampleTraining(task, task.Examples, 4, new SplitMix64(5), 1000);
        Assert.That(again.InputIds, Is.EqualTo(episode.InputIds));
        var other = builder.SampleTraining(task, task.Examples, 4, new SplitMix64(6), 1000);
        Assert.That(other.InputIds, Is.Not.EqualTo(episode.InputIds));

        var all = builder.SampleTraining(task, task.Examples, 10, new SplitMix64(11), 1000);
        Assert.That(all.Answers.Select(a => all.Text[a.CharStart..a.CharEnd]), Is.Unique.And.Exactly(10).Items);
        Assert.Throws<ArgumentException>(() => builder.SampleTraining(task, task.Examples, 11, new SplitMix64(1), 1000));
    }

    [Test]
    public void EvaluationEpisodesEndWithTheQuery()
    {
        var task = Numbered(12);
        var split = task.Split(0.25, seed: 3);
        var query = split.Test[0];
        var episode = new EpisodeBuilder(Bytes).SampleEvaluation(task, split.Train, 5, query, new SplitMix64(8), 1000);

        Assert.That(episode.DemonstrationCount, Is.EqualTo(6));
        Assert.That(episode.QueryAnswer, Is.EqualTo(query.Output));
        string prompt = Bytes.Decode(episode.InputIds.AsSpan(0, episode.Query.TokenStart));
        Assert.That(prompt, Does.EndWith($"\n\nInput: {query.Input}\nOutput: "));
        var demoAnswers = episode.Answers.SkipLast(1).Select(a => episode.Text[a.CharStart..a.CharEnd]);
        Assert.That(demoAnswers, Is.SubsetOf(split.Train.Select(e => e.Output)));
        CheckEpisode(episode, Bytes);
    }

    [Test]
    public void IclRecordsBecomeEpisodesWithABlankLineBetweenTurns()
    {
        var record = new IclRecord("r1", [
            new IclMessage(IclRole.User, "Classify.\nInput: good\n\nOutput:"), new IclMessage(IclRole.Assistant, "positive"),
            new IclMessage(IclRole.User, "Input: bad\n\nOutput:"), new IclMessage(IclRole.Assistant, "negative")], "sst2", 2);
        var episode = new EpisodeBuilder(Bytes).Build(record.ToEpisodeContent(), 1000);
        Assert.That(episode.Text, Is.EqualTo("Classify.\nInput: good\n\nOutput: positive\n\nInput: bad\n\nOutput: negative"));
        Assert.That(episode.SegmentIds.Count(s => s == 0), Is.EqualTo(1 + "Classify.\n".Length));
        CheckEpisode(episode, Bytes);
    }

    [Test]
    public void EpisodesRoundTripThroughTheMistralTokenizer()
    {
        var mistral = Tokenization.MistralTokenizer.Tokenizer;
        var task = new IclTask("sentiment", "Classify the sentiment of each review.", "classification",
        [
            new("A delightful film, full of charm.", "positive"),
            new("Dull and far too long.", "negative"),
            new("Un chef-d'œuvre ! Ça m'a ému.", "positive"),
            new("I want my 2 hours back…", "negative"),
            new("Great cast; great script; 10/10.", "positive"),
            new("日本語のレビュー：最高", "positive"),
        ]);
        var episode = new EpisodeBuilder(mistral).SampleTraining(task, task.Examples, 6, new SplitMix64(3), 4096);
        CheckEpisode(episode, mistral);
        Assert.That(episode.Text, Does.StartWith(task.Instruction));

        var record = new IclRecord("r1",
        [
            new IclMessage(IclRole.User, "Answer with yes or no.<input>: Is the sky blue?\n\n<output>:"),
            new IclMessage(IclRole.Assistant, "yes"),
            new IclMessage(IclRole.User, "<input>: Is fire cold?\n\n<output>:"),
            new IclMessage(IclRole.Assistant, "no"),
        ], "yesno", 2);
        CheckEpisode(new EpisodeBuilder(mistral).Build(record.ToEpisodeContent(), 4096), mistral);
    }
}
