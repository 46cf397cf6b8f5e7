using DrICL.Model.Tokenization;
using NUnit.Framework;

namespace DrICL.Tests.Tokenization;

/// <summary>The Llama 3 chat template, selected from tokenizer_config.json, against renders of its Jinja original.</summary>
public class Llama3ChatTemplateTests
{
    private const int StartHeader = 128006, EndHeader = 128007, EotId = 128009, Assistant = 78191;
    private static readonly string ConfigPath = Fixtures.File("tokenizers", "llama3", "tokenizer_config.json");

    internal static IEnumerable<ChatCase> Cases() => ChatCase.Read(Fixtures.File("chat", "cases-llama3.json"));

    /// <summary>Rendered by the template tokenizer_config.json selects, encoded by the Llama 3 tokenizer (ChatTemplateTests checks both against the golden renders).</summary>
    internal static ChatEncoding Encode(ChatCase c) =>
        ChatTemplateCatalog.Load(ConfigPath).Encode(c.Messages, Llama3TokenizerTests.Tokenizer, c.GenerationPrompt);

    [TestCaseSource(nameof(Cases))]
    public void LossMaskCoversEachAssistantMessageThroughItsEotId(ChatCase c)
    {
        var encoding = Encode(c);
        // Independently of offsets: after "<|start_header_id|>assistant<|end_header_id|>" and the "\n\n" token, up to and including <|eot_id|>.
        var expected = new bool[encoding.Ids.Length];
        for (int i = 3; i < expected.Length; i++)
        {
            if (encoding.Ids[i - 3] != StartHeader || encoding.Ids[i - 2] != Assistant || encoding.Ids[i - 1] != EndHeader) continue;
            int end = Array.IndexOf(encoding.Ids, EotId, i);
            if (end < 0) continue; // the generation prompt's header: nothing written yet
            for (int k = i + 1; k <= end; k++) expected[k] = true;
        }
        Assert.That(encoding.LossMask, Is.EqualTo(expected));
    }

    [Test]
    public void TheFixedTemplateWritesTheHeaderOnlyWhenAsked()
    {
        const string fixedJinja = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
        var template = ChatTemplateCatalog.FromJinja(fixedJinja, "<|begin_of_text|>", "<|end_of_text|>");
        ChatMessage[] messages = [new("system", " be brief\n"), new("user", "hi")];
        const string body = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nbe brief<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>";
        Assert.That(template.Render(messages).Text, Is.EqualTo(body));
        Assert.That(template.Render(messages, addGenerationPrompt: true).Text, Is.EqualTo(body + "<|start_header_id|>assistant<|end_header_id|>\n\n"));
    }

    [Test]
    public void UnknownTemplatesAreAClearError()
    {
        Assert.That(() => ChatTemplateCatalog.FromJinja("{{ messages }}", "<s>", "</s>"),
            Throws.ArgumentException.With.Message.EqualTo("unknown chat template (supported: llama2, mistral, llama3; the engine recognizes their Jinja source exactly)"));

        string dir = Path.Combine(Path.GetTempPath(), $"dricl-chat-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string chatml = Path.Combine(dir, "tokenizer_config.json");
            File.WriteAllText(chatml, """{"bos_token": "<s>", "eos_token": "</s>", "chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}"}""");
            Assert.That(() => ChatTemplateCatalog.Load(chatml), Throws.TypeOf<TokenizerLoadException>().With.Message
                .EqualTo($"{chatml}: unknown chat template (supported: llama2, mistral, llama3; the engine recognizes their Jinja source exactly)"));
            Assert.That(() => ChatTemplateCatalog.Load(Path.Combine(TestContext.CurrentContext.TestDirectory, "weights", "mistral-tokenizer", "tokenizer_config.json")),
                Throws.TypeOf<TokenizerLoadException>().With.Message.EndsWith("tokenizer_config.json: no chat_template (supported: llama2, mistral, llama3)"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void ChatCasesMatchThroughTheCli()
    {
        var (exit, output, _) = CliRunner.Run(["tokenize", "--tokenizer", Llama3TokenizerTests.JsonPath, "--chat-cases", Fixtures.File("chat", "cases-llama3.json")]);
        Assert.That(output.TrimEnd(), Does.EndWith("6/6 chat cases match"));
        Assert.That(exit, Is.Zero);
    }
}
