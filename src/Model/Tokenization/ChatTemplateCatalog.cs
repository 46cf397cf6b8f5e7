using System.Text.Json;

namespace DrICL.Model.Tokenization;

/// <summary>
/// The chat templates the engine writes out in C#, recognized by the Jinja source a model's
/// tokenizer_config.json carries as <c>chat_template</c>. The engine renders no Jinja: a template is
/// supported when its source is, character for character, one of these, so a model whose template says
/// something else is refused (naming the supported ones) rather than formatted wrongly.
/// </summary>
public static class ChatTemplateCatalog
{
    private sealed record Known(string Name, ChatFormat Format, bool AlwaysAddsGenerationPrompt, string Jinja);

    private static readonly Known[] Templates =
    [
        // Llama-2 chat.
        new("llama2", ChatFormat.Llama2, false,
            "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"),
        // Mistral instruct.
        new("mistral", ChatFormat.Mistral, false,
            "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"),
        // Meta Llama 3 Instruct as first released: the assistant header is written even without add_generation_prompt.
        new("llama3", ChatFormat.Llama3, true,
            "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"),
        // Meta Llama 3 Instruct as later fixed: the assistant header only with add_generation_prompt.
        new("llama3", ChatFormat.Llama3, false,
            "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"),
    ];

    /// <summary>The supported templates' names, for error messages.</summary>
    public static string SupportedNames => string.Join(", ", Templates.Select(t => t.Name).Distinct());

    /// <summary>The template whose Jinja source this is, or an ArgumentException naming the supported ones.</summary>
    public static ChatTemplate FromJinja(string jinja, string bosToken, string eosToken)
    {
        var known = Templates.FirstOrDefault(t => t.Jinja == jinja)
            ?? throw new ArgumentException($"unknown chat template (supported: {SupportedNames}; the engine recognizes their Jinja source exactly)");
        return new ChatTemplate(known.Format, bosToken, eosToken, known.AlwaysAddsGenerationPrompt);
    }

    /// <summary>
    /// The chat template of a model folder's tokenizer_config.json (its chat_template, or the one named
    /// "default" when it lists several), rendered with the file's bos_token and eos_token.
    /// </summary>
    public static ChatTemplate Load(string tokenizerConfigPath) =>
        TryLoad(tokenizerConfigPath) ?? throw new TokenizerLoadException($"{tokenizerConfigPath}: no chat_template (supported: {SupportedNames})");

    /// <summary>As Load, but null when the file has no chat_template (a base model's); any other problem still throws.</summary>
    public static ChatTemplate? TryLoad(string tokenizerConfigPath)
    {
        TokenizerLoadException Error(string problem) => new($"{tokenizerConfigPath}: {problem}");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(tokenizerConfigPath));
        }
        catch (JsonException e) { throw new TokenizerLoadException($"{tokenizerConfigPath}: invalid JSON: {e.Message}", e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new TokenizerLoadException($"{tokenizerConfigPath}: cannot read: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Error($"no chat_template (supported: {SupportedNames})");
            if (!root.TryGetProperty("chat_template", out var template) || template.ValueKind == JsonValueKind.Null) return null;
            string? jinja = template.ValueKind switch
            {
                JsonValueKind.String => template.GetString(),
                JsonValueKind.Array => template.EnumerateArray()
                    .Where(t => t.ValueKind == JsonValueKind.Object && t.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == "default")
                    .Select(t => t.TryGetProperty("template", out var j) && j.ValueKind == JsonValueKind.String ? j.GetString() : null)
                    .FirstOrDefault(),
                _ => null,
            };
            if (jinja is null) throw Error("chat_template is neither a string nor a list holding a \"default\" template");
            string bos = TokenizerConfig.TokenName(root, "bos_token") ?? throw Error("no bos_token for the chat template");
            string eos = TokenizerConfig.TokenName(root, "eos_token") ?? throw Error("no eos_token for the chat template");
            try
            {
                return FromJinja(jinja, bos, eos);
            }
            catch (ArgumentException e) { throw Error(e.Message); }
        }
    }
}
