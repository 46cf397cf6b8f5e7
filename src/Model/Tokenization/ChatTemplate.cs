using System.Text;
using Microsoft.ML.Tokenizers;

namespace DrICL.Model.Tokenization;

public enum ChatFormat { Llama2, Mistral, Llama3 }

/// <summary>A rendered conversation, with the character range [Start, End) of each assistant turn: what the model must learn to write.</summary>
public sealed record RenderedChat(string Text, IReadOnlyList<(int Start, int End)> AssistantSpans);

/// <summary>Ids of a rendered conversation, and per token whether it is trained on (part of an assistant turn).</summary>
public sealed record ChatEncoding(string Text, int[] Ids, bool[] LossMask);

/// <summary>
/// The Llama-2 chat, Mistral instruct and Llama 3 chat templates, written out in C# to render exactly as their
/// Jinja originals (the tokenizer_config.json chat_template of those models; ChatTemplateCatalog recognizes them):
/// <code>
/// llama2:  &lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;\n{system}\n&lt;&lt;/SYS&gt;&gt;\n\n{user} [/INST] {assistant} &lt;/s&gt;&lt;s&gt;[INST] {user} [/INST] ...
/// mistral: &lt;s&gt;[INST] {user} [/INST]{assistant}&lt;/s&gt;[INST] {user} [/INST] ...
/// llama3:  &lt;|begin_of_text|&gt;&lt;|start_header_id|&gt;{role}&lt;|end_header_id|&gt;\n\n{content}&lt;|eot_id|&gt;... [&lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n]
/// </code>
/// Llama-2 strips each message (Python str.strip) and takes an optional first system message; Mistral keeps
/// the text as is and has no system role. Both require user/assistant alternation starting with the user.
/// Llama 3 trims each message (the Jinja trim filter, JavaScript's String.trim in the reference renderer),
/// takes any order of roles, and ends with the assistant header when a generation prompt is asked for (or
/// always, for the template as Meta first released it). Where the Jinja would silently drop a message (a
/// Llama-2 system message that is not first), this raises instead. The loss mask covers each assistant turn
/// as the template writes it through its end token (EOS, or &lt;|eot_id|&gt;), so the model also learns the
/// separator and when to stop.
/// </summary>
public sealed class ChatTemplate(ChatFormat format, string bosToken = "<s>", string eosToken = "</s>", bool alwaysAddsGenerationPrompt = false)
{
    public ChatFormat Format { get; } = format;

    /// <summary>"llama2", "mistral" or "llama3" (the template names of the chat fixtures and the CLI).</summary>
    public static ChatFormat ParseFormat(string name) => name.ToLowerInvariant() switch
    {
        "llama2" or "llama-2" => ChatFormat.Llama2,
        "mistral" => ChatFormat.Mistral,
        "llama3" or "llama-3" => ChatFormat.Llama3,
        _ => throw new ArgumentException($"unknown chat template '{name}': expected llama2, mistral or llama3", nameof(name)),
    };

    /// <summary>Renders a conversation; addGenerationPrompt ends it with the header of the assistant's next turn (Llama 3; the others have none).</summary>
    public RenderedChat Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) throw new ArgumentException("a conversation needs at least one message", nameof(messages));
        for (int i = 0; i < messages.Count; i++)
            if (messages[i].Role is not ("system" or "user" or "assistant"))
                throw new ArgumentException($"message {i} has role '{messages[i].Role}': expected system, user or assistant", nameof(messages));
        return Format switch
        {
            ChatFormat.Llama2 => RenderLlama2(messages),
            ChatFormat.Mistral => RenderMistral(messages),
            _ => RenderLlama3(messages, addGenerationPrompt || alwaysAddsGenerationPrompt),
        };
    }

    /// <summary>Renders and encodes the whole string at once (no added BOS: the template writes it).</summary>
    public ChatEncoding Encode(IReadOnlyList<ChatMessage> messages, Tokenizer tokenizer, bool addGenerationPrompt = false)
    {
        var rendered = Render(messages, addGenerationPrompt);
        var encoded = tokenizer.Encode(rendered.Text);
        var mask = new bool[encoded.Ids.Length];
        int span = 0;
        for (int i = 0; i < mask.Length; i++)
        {
            int at = encoded.Offsets[i];
            while (span < rendered.AssistantSpans.Count && rendered.AssistantSpans[span].End <= at) span++;
            mask[i] = span < rendered.AssistantSpans.Count && rendered.AssistantSpans[span].Start <= at;
        }
        return new ChatEncoding(rendered.Text, encoded.Ids, mask);
    }

    private RenderedChat RenderLlama2(IReadOnlyList<ChatMessage> messages)
    {
        var text = new StringBuilder();
        var spans = new List<(int, int)>();
        string? system = messages[0].Role == "system" ? messages[0].Content : null;
        int first = system is null ? 0 : 1;
        for (int i = first; i < messages.Count; i++)
        {
            var m = messages[i];
            if (m.Role == "system") throw new ArgumentException($"message {i}: a system message may only come first", nameof(messages));
            CheckAlternation(m, i - first, i);
            string content = i == first && system is not null ? $"<<SYS>>\n{system}\n<</SYS>>\n\n{m.Content}" : m.Content;
            if (m.Role == "user")
                text.Append(bosToken).Append("[INST] ").Append(PythonStrip(content)).Append(" [/INST]");
            else
            {
                int start = text.Length;
                text.Append(' ').Append(PythonStrip(content)).Append(' ').Append(eosToken);
                spans.Add((start, text.Length));
            }
        }
        return new RenderedChat(text.ToString(), spans);
    }

    private RenderedChat RenderMistral(IReadOnlyList<ChatMessage> messages)
    {
        var text = new StringBuilder(bosToken);
        var spans = new List<(int, int)>();
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            if (m.Role == "system") throw new ArgumentException($"message {i}: the Mistral template has no system role", nameof(messages));
            CheckAlternation(m, i, i);
            if (m.Role == "user")
                text.Append("[INST] ").Append(m.Content).Append(" [/INST]");
            else
            {
                int start = text.Length;
                text.Append(m.Content).Append(eosToken);
                spans.Add((start, text.Length));
            }
        }
        return new RenderedChat(text.ToString(), spans);
    }

    private RenderedChat RenderLlama3(IReadOnlyList<ChatMessage> messages, bool generationPrompt)
    {
        const string Header = "<|start_header_id|>{0}<|end_header_id|>\n\n";
        var text = new StringBuilder(bosToken);
        var spans = new List<(int, int)>();
        foreach (var m in messages)
        {
            text.Append(string.Format(null, Header, m.Role));
            int start = text.Length;
            text.Append(JavaScriptTrim(m.Content)).Append("<|eot_id|>");
            if (m.Role == "assistant") spans.Add((start, text.Length));
        }
        if (generationPrompt) text.Append(string.Format(null, Header, "assistant"));
        return new RenderedChat(text.ToString(), spans);
    }

    private static void CheckAlternation(ChatMessage m, int turn, int index)
    {
        if ((m.Role == "user") != (turn % 2 == 0))
            throw new ArgumentException(
                $"message {index} is '{m.Role}': conversation roles must alternate user/assistant/user/assistant/...", "messages");
    }

    // Python's str.strip(): Unicode whitespace plus the separators U+001C..U+001F.
    private static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    // JavaScript's String.prototype.trim(): Unicode spaces and line terminators plus U+FEFF, but not U+0085.
    private static bool IsJavaScriptSpace(char c) => (char.IsWhiteSpace(c) && c != '\u0085') || c == '\uFEFF';

    private static string PythonStrip(string s) => Strip(s, IsPythonSpace);

    private static string JavaScriptTrim(string s) => Strip(s, IsJavaScriptSpace);

    private static string Strip(string s, Func<char, bool> isSpace)
    {
        int from = 0, to = s.Length;
        while (from < to && isSpace(s[from])) from++;
        while (to > from && isSpace(s[to - 1])) to--;
        return s[from..to];
    }
}
