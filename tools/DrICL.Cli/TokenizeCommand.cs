using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using DrICL.Model;
using DrICL.Model.Tokenization;

namespace DrICL.Cli;

/// <summary>
/// <c>dricl tokenize</c>: show the tokens of a text, or check a tokenizer against golden cases
/// (<c>--cases</c>: plain texts, <c>--chat-cases</c>: chat-template renders). Exit 0 when all match,
/// 1 on a mismatch, 2 on unusable input.
/// </summary>
public static class TokenizeCommand
{
    /// <summary>The Mistral-7B tokenizer shipped in weights/ and copied next to the executable.</summary>
    public static string DefaultTokenizerPath => Path.Combine(AppContext.BaseDirectory, "weights", "mistral-tokenizer", "tokenizer.json");

    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Option<string> TokenizerOption() => new("--tokenizer")
    {
        Description = "Hugging Face tokenizer.json; the default is the shipped Mistral-7B tokenizer",
        HelpName = "FILE",
        DefaultValueFactory = _ => DefaultTokenizerPath,
    };

    public static Command Create()
    {
        var tokenizerOption = TokenizerOption();
        var casesOption = new Option<string?>("--cases") { HelpName = "FILE", Description = "check a cases file: {\"cases\": [{\"text\", \"ids\", \"decoded\"}]}" };
        var chatOption = new Option<string?>("--chat-cases") { HelpName = "FILE", Description = "check a chat cases file: {\"cases\": [{\"template\", \"messages\", \"rendered\", \"ids\"}]}" };
        var textArgument = new Argument<string?>("text") { Description = "text to tokenize", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("tokenize", "Tokenize a text, or check a tokenizer against golden cases")
        {
            tokenizerOption, casesOption, chatOption, textArgument,
        };
        command.SetAction(parse => CliError.Guard(parse, output =>
        {
            string? text = parse.GetValue(textArgument), cases = parse.GetValue(casesOption), chat = parse.GetValue(chatOption);
            if ((text is null ? 0 : 1) + (cases is null ? 0 : 1) + (chat is null ? 0 : 1) != 1)
                throw new CliError("give exactly one of: a text, --cases FILE, --chat-cases FILE");
            var tokenizer = LoadTokenizer(parse.GetValue(tokenizerOption)!);
            if (cases is not null) return CheckCases(tokenizer, cases, output);
            if (chat is not null) return CheckChatCases(tokenizer, chat, output);
            Show(tokenizer, text!, output);
            return 0;
        }));
        return command;
    }

    /// <summary>Loads a tokenizer.json: a regular file (a FIFO would block the read) of at most 1 GiB.</summary>
    public static BpeTokenizer LoadTokenizer(string path)
    {
        if (!File.Exists(path)) throw new CliError($"{path}: tokenizer file not found");
        InputFile.RequireRegular(path, maxBytes: 1L << 30);
        return BpeTokenizer.Load(path);
    }

    private static void Show(BpeTokenizer tokenizer, string text, TextWriter output)
    {
        var encoded = tokenizer.Encode(text, tokenizer.AddsBosByDefault, tokenizer.AddsEosByDefault);
        output.WriteLine($"{encoded.Ids.Length} tokens");
        output.WriteLine($"ids:     [{string.Join(", ", encoded.Ids)}]");
        output.WriteLine($"pieces:  {JsonSerializer.Serialize(encoded.Ids.Select(tokenizer.IdToToken), Readable)}");
        output.WriteLine($"offsets: [{string.Join(", ", encoded.Offsets)}]");
    }

    /// <summary>Each case: ids = encoding with the template's special tokens; decoded = decoding of those ids without BOS, skipping specials.</summary>
    private static int CheckCases(BpeTokenizer tokenizer, string path, TextWriter output)
    {
        using var doc = ReadJson(path);
        int total = 0, matching = 0;
        foreach (var c in Cases(doc, path))
        {
            string text = Text(c, "text", path);
            int[] expected = Ids(c, path, total);
            string decoded = Text(c, "decoded", path);
            var got = tokenizer.Encode(text, tokenizer.AddsBosByDefault, tokenizer.AddsEosByDefault).Ids;
            int skip = expected.Length > 0 && tokenizer.AddsBosByDefault && expected[0] == tokenizer.BosId ? 1 : 0;
            string gotDecoded = tokenizer.Decode(expected.AsSpan(skip));
            bool ok = true;
            if (!got.AsSpan().SequenceEqual(expected))
            {
                ok = false;
                output.WriteLine($"case {total} {Preview(text)}: ids differ {Difference(expected, got)}");
            }
            if (gotDecoded != decoded)
            {
                ok = false;
                output.WriteLine($"case {total} {Preview(text)}: decoded {Preview(gotDecoded)}, expected {Preview(decoded)}");
            }
            matching += ok ? 1 : 0;
            total++;
        }
        output.WriteLine($"{matching}/{total} cases match");
        return matching == total ? 0 : 1;
    }

    /// <summary>
    /// Each case: the template rendered with the tokenizer's BOS/EOS strings (and add_generation_prompt, when
    /// given), and its encoding without added specials. A template named in the file's "templates" map is
    /// recognized by its Jinja source, as a model's tokenizer_config.json would be; otherwise by its name.
    /// </summary>
    private static int CheckChatCases(BpeTokenizer tokenizer, string path, TextWriter output)
    {
        using var doc = ReadJson(path);
        string bos = tokenizer.IdToToken(tokenizer.BosId)!, eos = tokenizer.IdToToken(tokenizer.EosId)!;
        var jinja = doc.RootElement.TryGetProperty("templates", out var templates) && templates.ValueKind == JsonValueKind.Object
            ? templates.EnumerateObject().ToDictionary(t => t.Name, t => Text(templates, t.Name, path))
            : [];
        int total = 0, matching = 0;
        foreach (var c in Cases(doc, path))
        {
            string name = Text(c, "template", path);
            ChatTemplate template;
            try
            {
                template = jinja.TryGetValue(name, out var source)
                    ? ChatTemplateCatalog.FromJinja(source, bos, eos)
                    : new ChatTemplate(ChatTemplate.ParseFormat(name), bos, eos);
            }
            catch (ArgumentException e)
            {
                throw new CliError($"{path}: case {total} ({name}): {e.Message}");
            }
            bool generationPrompt = c.TryGetProperty("add_generation_prompt", out var prompt) && prompt.ValueKind == JsonValueKind.True;
            var messagesJson = Field(c, "messages", path);
            if (messagesJson.ValueKind != JsonValueKind.Array) throw new CliError($"{path}: case {total}: messages is not an array");
            var messages = messagesJson.EnumerateArray().Select(m => new ChatMessage(Text(m, "role", path), Text(m, "content", path))).ToList();
            string rendered = Text(c, "rendered", path);
            int[] expected = Ids(c, path, total);
            bool ok = true;
            try
            {
                var encoding = template.Encode(messages, tokenizer, generationPrompt);
                if (encoding.Text != rendered)
                {
                    ok = false;
                    output.WriteLine($"chat case {total} ({name}): rendered {Preview(encoding.Text)}, expected {Preview(rendered)}");
                }
                if (!encoding.Ids.AsSpan().SequenceEqual(expected))
                {
                    ok = false;
                    output.WriteLine($"chat case {total} ({name}): ids differ {Difference(expected, encoding.Ids)}");
                }
            }
            catch (ArgumentException e)
            {
                ok = false;
                output.WriteLine($"chat case {total} ({name}): {e.Message}");
            }
            matching += ok ? 1 : 0;
            total++;
        }
        output.WriteLine($"{matching}/{total} chat cases match");
        return matching == total ? 0 : 1;
    }

    private static JsonDocument ReadJson(string path)
    {
        if (!File.Exists(path)) throw new CliError($"{path}: file not found");
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new CliError($"{path}: invalid JSON: {e.Message}", e);
        }
    }

    private static IEnumerable<JsonElement> Cases(JsonDocument doc, string path) =>
        doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("cases", out var cases) && cases.ValueKind == JsonValueKind.Array
            ? cases.EnumerateArray()
            : throw new CliError($"{path}: expected an object with a \"cases\" array");

    private static JsonElement Field(JsonElement obj, string name, string path) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) ? v : throw new CliError($"{path}: a case lacks \"{name}\"");

    private static string Text(JsonElement obj, string name, string path) =>
        Field(obj, name, path) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : throw new CliError($"{path}: \"{name}\" is not a string");

    private static int[] Ids(JsonElement c, string path, int index)
    {
        var ids = Field(c, "ids", path);
        if (ids.ValueKind != JsonValueKind.Array || ids.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.Number || !i.TryGetInt32(out _)))
            throw new CliError($"{path}: case {index}: ids is not an array of integers");
        return ids.EnumerateArray().Select(i => i.GetInt32()).ToArray();
    }

    private static string Difference(int[] expected, int[] got)
    {
        int i = 0;
        while (i < expected.Length && i < got.Length && expected[i] == got[i]) i++;
        static string From(int[] a, int i) => a.Length <= i ? "(end)" : string.Join(" ", a.Skip(i).Take(8)) + (a.Length > i + 8 ? " …" : "");
        return $"from token {i}: expected {From(expected, i)}, got {From(got, i)}";
    }

    private static string Preview(string s) => JsonSerializer.Serialize(s.Length > 60 ? s[..60] + "…" : s, Readable);
}
