using DrICL.Model.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary>The C# chat templates against renders of the Jinja originals, and their loss masks.</summary>
public class ChatTemplateTests
{
    private const int Eos = 2, InstClose = 28793, InstName = 16289, Slash = 28748;

    private static IEnumerable<ChatCase> Cases() => ChatCase.Read(MistralTokenizer.ChatCasesPath);

    // The Mistral-vocabulary renders (llama2, mistral) and Llama 3's, each with its own tokenizer.
    private static IEnumerable<ChatCase> AllCases() => Cases().Concat(Llama3ChatTemplateTests.Cases());

    private static ChatEncoding Encode(ChatCase c) => c.Template == "llama3"
        ? Llama3ChatTemplateTests.Encode(c)
        : new ChatTemplate(ChatTemplate.ParseFormat(c.Template)).Encode(c.Messages, MistralTokenizer.Tokenizer);

    [TestCaseSource(nameof(AllCases))]
    public void RendersAndEncodesLikeTheJinjaTemplate(ChatCase c)
    {
        var encoding = Encode(c);
        Assert.Multiple(() =>
        {
            Assert.That(encoding.Text, Is.EqualTo(c.Rendered));
            Assert.That(encoding.Ids, Is.EqualTo(c.Ids));
        });
    }

    [TestCaseSource(nameof(Cases))]
    public void LossMaskCoversEachAnswerFromInstCloseThroughEos(ChatCase c)
    {
        var encoding = Encode(c);
        // Independently of offsets: the tokens after each "[/INST]" up to and including the next EOS.
        var expected = new bool[encoding.Ids.Length];
        bool inAnswer = false;
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = inAnswer;
            if (encoding.Ids[i] == Eos) inAnswer = false;
            if (i >= 2 && encoding.Ids[i] == InstClose && encoding.Ids[i - 1] == InstName && encoding.Ids[i - 2] == Slash) inAnswer = true;
        }
        Assert.That(encoding.LossMask, Is.EqualTo(expected));

        // Each masked turn decodes to the assistant's message (stripped by Llama-2's template).
        var answers = c.Messages.Where(m => m.Role == "assistant").Select(m => m.Content.Trim()).ToArray();
        var turns = new List<string>();
        for (int i = 0; i < expected.Length; i++)
        {
            if (!expected[i] || (i > 0 && expected[i - 1])) continue;
            int end = i;
            while (end < expected.Length && expected[end]) end++;
            turns.Add(MistralTokenizer.Tokenizer.Decode(encoding.Ids[i..end]).Trim());
            Assert.That(encoding.Ids[end - 1], Is.EqualTo(Eos), "a turn ends with its EOS");
        }
        Assert.That(turns, Is.EqualTo(answers));
    }

    [Test]
    public void MaskOfASingleExchange()
    {
        var messages = new[] { new ChatMessage("user", "What is the capital of France?"), new ChatMessage("assistant", "Paris.") };
        var llama = new ChatTemplate(ChatFormat.Llama2).Encode(messages, MistralTokenizer.Tokenizer);
        var mistral = new ChatTemplate(ChatFormat.Mistral).Encode(messages, MistralTokenizer.Tokenizer);
        // Llama-2: "▁Paris" "." "▁" "</s>"; Mistral: "Par" "is" "." "</s>".
        Assert.That(llama.Ids.Where((_, i) => llama.LossMask[i]), Is.EqualTo(new[] { 5465, 28723, 28705, 2 }));
        Assert.That(mistral.Ids.Where((_, i) => mistral.LossMask[i]), Is.EqualTo(new[] { 3916, 278, 28723, 2 }));
    }

    [Test]
    public void Llama2StripsLikePython()
    {
        var template = new ChatTemplate(ChatFormat.Llama2);
        // str.strip() also removes U+001C..U+001F and Unicode spaces such as U+3000.
        var rendered = template.Render([new("user", "\x1c hi\u3000"), new("assistant", "\tyo\n")]);
        Assert.That(rendered.Text, Is.EqualTo("<s>[INST] hi [/INST] yo </s>"));
        Assert.That(rendered.AssistantSpans, Is.EqualTo(new[] { (rendered.Text.IndexOf(" yo", StringComparison.Ordinal), rendered.Text.Length) }));
    }

    [Test]
    public void Llama2SystemPromptGoesIntoTheFirstUserMessage()
    {
        // Even an empty system prompt makes the block; the strip applies to the block plus the message.
        var rendered = new ChatTemplate(ChatFormat.Llama2).Render([new("system", ""), new("user", " hi ")]);
        Assert.That(rendered.Text, Is.EqualTo("<s>[INST] <<SYS>>\n\n<</SYS>>\n\n hi [/INST]"));
        Assert.That(rendered.AssistantSpans, Is.Empty);
    }

    [Test]
    public void InvalidConversationsAreRefused()
    {
        var llama = new ChatTemplate(ChatFormat.Llama2);
        var mistral = new ChatTemplate(ChatFormat.Mistral);
        ChatMessage user = new("user", "q"), assistant = new("assistant", "a"), system = new("system", "s");
        Assert.Multiple(() =>
        {
            Assert.That(() => llama.Render([assistant]), Throws.ArgumentException.With.Message.Contains("alternate"));
            Assert.That(() => llama.Render([user, user]), Throws.ArgumentException.With.Message.Contains("alternate"));
            Assert.That(() => llama.Render([system, assistant]), Throws.ArgumentException.With.Message.Contains("alternate"));
            Assert.That(() => llama.Render([user, system]), Throws.ArgumentException.With.Message.Contains("only come first"));
            Assert.That(() => mistral.Render([system, user]), Throws.ArgumentException.With.Message.Contains("no system role"));
            Assert.That(() => mistral.Render([user, assistant, assistant]), Throws.ArgumentException.With.Message.Contains("alternate"));
            Assert.That(() => mistral.Render([new("tool", "x")]), Throws.ArgumentException.With.Message.Contains("'tool'"));
            Assert.That(() => mistral.Render([]), Throws.ArgumentException);
            Assert.That(() => ChatTemplate.ParseFormat("chatml"), Throws.ArgumentException.With.Message.Contains("chatml"));
        });
    }
}
