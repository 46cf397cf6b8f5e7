using System.Text.Json;

namespace DrICL.Model.Tokenization;

/// <summary>
/// Reads a Hugging Face tokenizer.json into a <see cref="TokenizerSpec"/>, refusing anything outside the two
/// BPE families (SentencePiece-style: Llama-2, Mistral; byte-level: GPT-2, Llama 3) with a message naming
/// the file and the component.
/// </summary>
internal static class TokenizerJson
{
    private const string Family =
        "DrICL reads SentencePiece-style BPE tokenizers (Llama-2, Mistral: '▁' metaspace, byte fallback) " +
        "and byte-level BPE tokenizers (GPT-2, Llama 3: ByteLevel with GPT-2's or Llama 3's split regex)";

    /// <summary>
    /// The largest token id accepted. Tables are allocated by the largest id, so one hostile id near 2^31
    /// would cost gigabytes; real vocabularies stay below 2^18.
    /// </summary>
    public const int MaxTokenId = (1 << 24) - 1;

    public static TokenizerSpec Parse(string json, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new TokenizerLoadException($"{source}: invalid JSON: {e.Message}", e);
        }
        using (doc)
        {
            var r = new Reader(source);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw r.Fail("the top level is not a JSON object");

            var modelJson = r.Required(root, "model", "model");
            var model = ReadModel(r, modelJson);
            var normalizer = ReadNormalizer(r, r.Optional(root, "normalizer"));
            var preTokenizer = ReadPreTokenizer(r, r.Optional(root, "pre_tokenizer"));
            var decoder = ReadDecoder(r, r.Optional(root, "decoder"));
            var added = ReadAddedTokens(r, r.Optional(root, "added_tokens"));
            var template = ReadPostProcessor(r, r.Optional(root, "post_processor"));
            CheckIds(r, model, added, template);

            if (preTokenizer is ByteLevelSpec)
            {
                if (normalizer.Count > 0) throw r.Unsupported("a normalizer before a ByteLevel pre_tokenizer");
                if (!decoder.Any(d => d is ByteLevelDecoderSpec)) throw r.Unsupported("a ByteLevel pre_tokenizer without a ByteLevel decoder");
                return new TokenizerSpec(model, normalizer, preTokenizer, added, template, decoder, Metaspace: null);
            }

            // The SentencePiece family is defined by '▁' standing for spaces: written either by the old
            // normalizer (Replace ' ' -> '▁') or by the Metaspace pre-tokenizer.
            char? metaspace = (preTokenizer as MetaspaceSpec)?.Replacement;
            foreach (var step in normalizer)
                if (step is ReplaceNormalizer { Pattern: " ", Content.Length: 1 } rep) metaspace ??= rep.Content[0];
            if (metaspace is null)
                throw r.Unsupported("no metaspace: neither a normalizer replacing ' ' by '▁' nor a Metaspace pre_tokenizer");
            if (decoder.Any(d => d is ByteLevelDecoderSpec)) throw r.Unsupported("a ByteLevel decoder without a ByteLevel pre_tokenizer");

            return new TokenizerSpec(model, normalizer, preTokenizer, added, template, decoder, metaspace.Value);
        }
    }

    private static BpeModelSpec ReadModel(Reader r, JsonElement m)
    {
        r.ExpectObject(m, "model");
        string type = r.OptionalString(m, "type", "model.type") ?? (m.TryGetProperty("merges", out _) ? "BPE" : "");
        if (type != "BPE")
            throw r.Unsupported(type.Length == 0 ? "model without a type" : $"model type '{type}'");

        if (r.Optional(m, "dropout") is { } dropout && (dropout.ValueKind != JsonValueKind.Number || dropout.GetDouble() != 0))
            throw r.Unsupported("BPE dropout (DrICL encodes deterministically)");
        foreach (var affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (r.OptionalString(m, affix, "model." + affix) is { Length: > 0 } s)
                throw r.Unsupported($"model.{affix} '{s}' (a WordPiece-style BPE)");

        var vocabJson = r.Required(m, "vocab", "model.vocab");
        r.ExpectObject(vocabJson, "model.vocab");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var tokenOf = new Dictionary<int, string>();
        foreach (var p in vocabJson.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0 || id > MaxTokenId)
                throw r.Fail($"model.vocab['{p.Name}'] = {p.Value.GetRawText()} is not an integer id in [0, {MaxTokenId}]");
            if (!tokenOf.TryAdd(id, p.Name)) throw r.Fail($"model.vocab['{p.Name}'] has id {id}, already the id of '{tokenOf[id]}'");
            vocab[p.Name] = id;
        }

        var mergesJson = r.Required(m, "merges", "model.merges");
        if (mergesJson.ValueKind != JsonValueKind.Array) throw r.Fail("model.merges is not an array");
        var merges = new List<(string, string)>(mergesJson.GetArrayLength());
        foreach (var e in mergesJson.EnumerateArray())
        {
            // Older files write "a b"; newer ones ["a", "b"] so that tokens may contain spaces.
            if (e.ValueKind == JsonValueKind.String)
            {
                string s = e.GetString()!;
                int sp = s.IndexOf(' ');
                if (sp < 0 || s.IndexOf(' ', sp + 1) >= 0) throw r.Fail($"model.merges entry '{s}' is not two tokens separated by one space");
                merges.Add((s[..sp], s[(sp + 1)..]));
            }
            else if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2
                     && e[0].ValueKind == JsonValueKind.String && e[1].ValueKind == JsonValueKind.String)
                merges.Add((e[0].GetString()!, e[1].GetString()!));
            else
                throw r.Fail($"model.merges entry {e.GetRawText()} is neither \"a b\" nor [\"a\", \"b\"]");
        }

        return new BpeModelSpec(vocab, merges,
            ByteFallback: r.OptionalBool(m, "byte_fallback", "model.byte_fallback", false),
            UnkToken: r.OptionalString(m, "unk_token", "model.unk_token"),
            FuseUnk: r.OptionalBool(m, "fuse_unk", "model.fuse_unk", false),
            IgnoreMerges: r.OptionalBool(m, "ignore_merges", "model.ignore_merges", false));
    }

    /// <summary>
    /// Ids index the engine's tables, so each must stay below the number of tokens the file defines (vocabulary
    /// plus added tokens), an added token may not reuse the id of another string, and the template's ids must exist.
    /// </summary>
    private static void CheckIds(Reader r, BpeModelSpec model, List<AddedTokenSpec> added, TemplateSpec? template)
    {
        long limit = (long)model.Vocab.Count + added.Count;
        foreach (var (token, id) in model.Vocab)
            if (id >= limit) throw r.Fail($"model.vocab['{token}'] id {id} is out of range (the file defines {limit} tokens)");
        var contentOf = model.Vocab.ToDictionary(p => p.Value, p => p.Key);
        for (int i = 0; i < added.Count; i++)
        {
            var t = added[i];
            if (t.Id >= limit) throw r.Fail($"added_tokens[{i}] id {t.Id} is out of range (the file defines {limit} tokens)");
            if (contentOf.TryGetValue(t.Id, out var other) && other != t.Content)
                throw r.Fail($"added_tokens[{i}] '{t.Content}' has id {t.Id}, already the id of '{other}'");
            contentOf[t.Id] = t.Content;
        }
        foreach (int? id in new[] { template?.Prefix, template?.Suffix })
            if (id is int i && !contentOf.ContainsKey(i)) throw r.Fail($"post_processor special token id {i} is not a token of the file");
    }

    private static List<NormalizerStep> ReadNormalizer(Reader r, JsonElement? json)
    {
        var steps = new List<NormalizerStep>();
        if (json is { } n) AddNormalizer(r, n, steps);
        return steps;
    }

    private static void AddNormalizer(Reader r, JsonElement n, List<NormalizerStep> steps)
    {
        switch (r.Type(n, "normalizer"))
        {
            case "Sequence":
                foreach (var inner in r.Array(n, "normalizers", "normalizer.normalizers")) AddNormalizer(r, inner, steps);
                break;
            case "Prepend":
                steps.Add(new PrependNormalizer(r.RequiredString(n, "prepend", "normalizer Prepend.prepend")));
                break;
            case "Replace":
                steps.Add(new ReplaceNormalizer(
                    r.StringPattern(n, "normalizer Replace"),
                    r.RequiredString(n, "content", "normalizer Replace.content")));
                break;
            default:
                throw r.Unsupported($"normalizer {Describe(n)}");
        }
    }

    private static PreTokenizerSpec? ReadPreTokenizer(Reader r, JsonElement? json)
    {
        if (json is not { } p) return null;
        return r.Type(p, "pre_tokenizer") switch
        {
            "Metaspace" => ReadMetaspace(r, p),
            "ByteLevel" => CheckByteLevel(r, p, splitBefore: false, SplitPattern.Gpt2),
            "Sequence" => ReadByteLevelSequence(r, p),
            _ => throw r.Unsupported($"pre_tokenizer {Describe(p)}"),
        };
    }

    /// <summary>Llama 3's Sequence[Split(its regex, Isolated), ByteLevel(use_regex: false)].</summary>
    private static ByteLevelSpec ReadByteLevelSequence(Reader r, JsonElement p)
    {
        var steps = r.Array(p, "pretokenizers", "pre_tokenizer.pretokenizers").ToList();
        if (steps.Count != 2 || r.Type(steps[0], "pre_tokenizer.pretokenizers[0]") != "Split" || r.Type(steps[1], "pre_tokenizer.pretokenizers[1]") != "ByteLevel")
            throw r.Unsupported($"pre_tokenizer {Describe(p)} (the supported Sequence is [Split, ByteLevel], as in Llama 3)");
        var split = steps[0];
        var pattern = r.Required(split, "pattern", "pre_tokenizer Split.pattern");
        string? regex = r.Optional(pattern, "Regex") is { ValueKind: JsonValueKind.String } re ? re.GetString() : null;
        if (regex != WordSplitter.Llama3Regex)
            throw r.Unsupported($"pre_tokenizer Split pattern {pattern.GetRawText()} (the supported one is Llama 3's)");
        string behavior = r.RequiredString(split, "behavior", "pre_tokenizer Split.behavior");
        if (behavior != "Isolated" || r.OptionalBool(split, "invert", "pre_tokenizer Split.invert", false))
            throw r.Unsupported($"pre_tokenizer Split with behavior '{behavior}' (the supported one is Isolated, not inverted)");
        return CheckByteLevel(r, steps[1], splitBefore: true, SplitPattern.Llama3);
    }

    /// <summary>A ByteLevel pre-tokenizer: it splits with GPT-2's regex itself (use_regex) unless a Split came before.</summary>
    private static ByteLevelSpec CheckByteLevel(Reader r, JsonElement p, bool splitBefore, SplitPattern pattern)
    {
        const string what = "pre_tokenizer ByteLevel";
        if (r.OptionalBool(p, "add_prefix_space", what + ".add_prefix_space", false))
            throw r.Unsupported($"{what} with add_prefix_space");
        bool useRegex = r.OptionalBool(p, "use_regex", what + ".use_regex", true);
        if (useRegex == splitBefore)
            throw r.Unsupported(splitBefore ? $"{what} with use_regex after a Split" : $"{what} without use_regex and without a Split before it");
        return new ByteLevelSpec(pattern);
    }

    private static MetaspaceSpec ReadMetaspace(Reader r, JsonElement p)
    {
        char replacement = r.SingleChar(p, "replacement", "pre_tokenizer Metaspace.replacement");
        var scheme = ReadPrependScheme(r, p, "pre_tokenizer Metaspace");
        bool split = r.OptionalBool(p, "split", "pre_tokenizer Metaspace.split", true);
        return new MetaspaceSpec(replacement, scheme, split);
    }

    // prepend_scheme (tokenizers >= 0.14) with the older add_prefix_space spelling as fallback.
    private static PrependScheme ReadPrependScheme(Reader r, JsonElement p, string what)
    {
        string? scheme = r.OptionalString(p, "prepend_scheme", what + ".prepend_scheme");
        bool? addPrefix = r.Optional(p, "add_prefix_space") is { } a ? r.Bool(a, what + ".add_prefix_space") : null;
        var result = scheme switch
        {
            null => addPrefix == false ? PrependScheme.Never : PrependScheme.Always,
            "first" => PrependScheme.First,
            "always" => PrependScheme.Always,
            "never" => PrependScheme.Never,
            _ => throw r.Fail($"{what}.prepend_scheme '{scheme}' is not first, always or never"),
        };
        if (addPrefix == false && result != PrependScheme.Never)
            throw r.Fail($"{what}: add_prefix_space false contradicts prepend_scheme '{scheme}'");
        return result;
    }

    private static List<DecoderStepSpec> ReadDecoder(Reader r, JsonElement? json)
    {
        if (json is not { } d) throw r.Unsupported("no decoder (nothing turns '▁' back into spaces)");
        var steps = new List<DecoderStepSpec>();
        AddDecoder(r, d, steps);
        return steps;
    }

    private static void AddDecoder(Reader r, JsonElement d, List<DecoderStepSpec> steps)
    {
        switch (r.Type(d, "decoder"))
        {
            case "Sequence":
                foreach (var inner in r.Array(d, "decoders", "decoder.decoders")) AddDecoder(r, inner, steps);
                break;
            case "Replace":
                steps.Add(new ReplaceDecoderSpec(r.StringPattern(d, "decoder Replace"),
                    r.RequiredString(d, "content", "decoder Replace.content")));
                break;
            case "ByteFallback":
                steps.Add(new ByteFallbackDecoderSpec());
                break;
            case "Fuse":
                steps.Add(new FuseDecoderSpec());
                break;
            case "Strip":
                steps.Add(new StripDecoderSpec(
                    r.SingleChar(d, "content", "decoder Strip.content").ToString(),
                    r.NonNegativeInt(d, "start", "decoder Strip.start"),
                    r.NonNegativeInt(d, "stop", "decoder Strip.stop")));
                break;
            case "Metaspace":
                steps.Add(new MetaspaceDecoderSpec(
                    r.SingleChar(d, "replacement", "decoder Metaspace.replacement").ToString(),
                    ReadPrependScheme(r, d, "decoder Metaspace")));
                break;
            case "ByteLevel":
                steps.Add(new ByteLevelDecoderSpec());
                break;
            default:
                throw r.Unsupported($"decoder {Describe(d)}");
        }
    }

    private static List<AddedTokenSpec> ReadAddedTokens(Reader r, JsonElement? json)
    {
        var list = new List<AddedTokenSpec>();
        if (json is not { } a) return list;
        if (a.ValueKind != JsonValueKind.Array) throw r.Fail("added_tokens is not an array");
        int i = 0;
        foreach (var t in a.EnumerateArray())
        {
            string at = $"added_tokens[{i++}]";
            r.ExpectObject(t, at);
            int id = r.NonNegativeInt(t, "id", at + ".id");
            if (id > MaxTokenId) throw r.Fail($"{at}.id {id} is above {MaxTokenId}");
            string content = r.RequiredString(t, "content", at + ".content");
            if (content.Length == 0) throw r.Fail($"{at}.content is empty");
            bool special = r.OptionalBool(t, "special", at + ".special", false);
            list.Add(new AddedTokenSpec(id, content, special,
                SingleWord: r.OptionalBool(t, "single_word", at + ".single_word", false),
                LStrip: r.OptionalBool(t, "lstrip", at + ".lstrip", false),
                RStrip: r.OptionalBool(t, "rstrip", at + ".rstrip", false),
                Normalized: r.OptionalBool(t, "normalized", at + ".normalized", !special)));
        }
        return list;
    }

    /// <summary>
    /// TemplateProcessing, ByteLevel (which only trims offsets: no special tokens, as in the original Llama 3
    /// file), or a Sequence of them with at most one template (Llama 3.1 and later: ByteLevel then the BOS).
    /// </summary>
    private static TemplateSpec? ReadPostProcessor(Reader r, JsonElement? json)
    {
        if (json is not { } p) return null;
        switch (r.Type(p, "post_processor"))
        {
            case "TemplateProcessing":
                return ReadTemplate(r, p);
            case "ByteLevel":
                return null;
            case "Sequence":
                var templates = r.Array(p, "processors", "post_processor.processors").Select(step => ReadPostProcessor(r, step)).OfType<TemplateSpec>().ToList();
                if (templates.Count > 1) throw r.Unsupported($"post_processor {Describe(p)} with more than one TemplateProcessing");
                return templates.FirstOrDefault();
            default:
                throw r.Unsupported($"post_processor {Describe(p)}");
        }
    }

    private static TemplateSpec ReadTemplate(Reader r, JsonElement p)
    {
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        if (r.Optional(p, "special_tokens") is { } st)
        {
            r.ExpectObject(st, "post_processor.special_tokens");
            foreach (var s in st.EnumerateObject())
            {
                var ids = r.Array(s.Value, "ids", $"post_processor.special_tokens['{s.Name}'].ids").ToList();
                if (ids.Count != 1 || !ids[0].TryGetInt32(out int id))
                    throw r.Unsupported($"post_processor special token '{s.Name}' with {ids.Count} ids (only single-id BOS/EOS)");
                specials[s.Name] = id;
            }
        }

        int? prefix = null, suffix = null;
        bool seenA = false;
        foreach (var item in r.Array(p, "single", "post_processor.single"))
        {
            if (item.TryGetProperty("Sequence", out var seq))
            {
                if (seenA || r.RequiredString(seq, "id", "post_processor.single Sequence.id") != "A")
                    throw r.Unsupported("post_processor TemplateProcessing whose single template is not [BOS] $A [EOS]");
                seenA = true;
            }
            else if (item.TryGetProperty("SpecialToken", out var sp))
            {
                string name = r.RequiredString(sp, "id", "post_processor.single SpecialToken.id");
                if (!specials.TryGetValue(name, out int id))
                    throw r.Fail($"post_processor.single uses special token '{name}' missing from post_processor.special_tokens");
                ref int? slot = ref seenA ? ref suffix : ref prefix;
                if (slot is not null)
                    throw r.Unsupported("post_processor TemplateProcessing with more than one special token on one side of $A");
                slot = id;
            }
            else
                throw r.Fail($"post_processor.single item {item.GetRawText()} is neither Sequence nor SpecialToken");
        }
        if (!seenA) throw r.Fail("post_processor.single has no Sequence $A");
        return new TemplateSpec(prefix, suffix);
    }

    /// <summary>'Sequence[Split, ByteLevel]' style summary of a component for error messages.</summary>
    private static string Describe(JsonElement e) => $"'{Summary(e)}'";

    private static string Summary(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) return e.ValueKind.ToString();
        string type = e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "(no type)";
        foreach (var key in new[] { "normalizers", "pretokenizers", "decoders", "processors" })
            if (e.TryGetProperty(key, out var list) && list.ValueKind == JsonValueKind.Array)
                return $"{type}[{string.Join(", ", list.EnumerateArray().Select(Summary))}]";
        return type;
    }

    /// <summary>Typed field access whose errors name the file and the field.</summary>
    private readonly struct Reader(string source)
    {
        public TokenizerLoadException Fail(string problem) => new($"{source}: {problem}");

        public TokenizerLoadException Unsupported(string what) => new($"{source}: unsupported tokenizer: {what}. {Family}.");

        public void ExpectObject(JsonElement e, string path)
        {
            if (e.ValueKind != JsonValueKind.Object) throw Fail($"{path} is not a JSON object");
        }

        /// <summary>The field, or null when absent or JSON null.</summary>
        public JsonElement? Optional(JsonElement obj, string name) =>
            obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        public JsonElement Required(JsonElement obj, string name, string path) =>
            Optional(obj, name) ?? throw Fail($"missing field '{path}'");

        public string Type(JsonElement obj, string path)
        {
            ExpectObject(obj, path);
            return RequiredString(obj, "type", path + ".type");
        }

        public string RequiredString(JsonElement obj, string name, string path)
        {
            var v = Required(obj, name, path);
            return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Fail($"{path} is not a string");
        }

        public string? OptionalString(JsonElement obj, string name, string path) => Optional(obj, name) is { } v
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Fail($"{path} is not a string")
            : null;

        public bool Bool(JsonElement v, string path) => v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Fail($"{path} is not true or false"),
        };

        public bool OptionalBool(JsonElement obj, string name, string path, bool fallback) =>
            Optional(obj, name) is { } v ? Bool(v, path) : fallback;

        public int NonNegativeInt(JsonElement obj, string name, string path)
        {
            var v = Required(obj, name, path);
            return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) && i >= 0 ? i : throw Fail($"{path} is not a non-negative integer");
        }

        public char SingleChar(JsonElement obj, string name, string path)
        {
            string s = RequiredString(obj, name, path);
            return s.Length == 1 ? s[0] : throw Unsupported($"{path} '{s}' is not a single character");
        }

        public IEnumerable<JsonElement> Array(JsonElement obj, string name, string path)
        {
            var v = Required(obj, name, path);
            return v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : throw Fail($"{path} is not an array");
        }

        /// <summary>A Replace pattern: {"String": "..."}; regex patterns are outside the family.</summary>
        public string StringPattern(JsonElement obj, string what)
        {
            var pattern = Required(obj, "pattern", what + ".pattern");
            if (Optional(pattern, "String") is { ValueKind: JsonValueKind.String } s && s.GetString()!.Length > 0) return s.GetString()!;
            if (Optional(pattern, "Regex") is not null) throw Unsupported($"{what} with a Regex pattern");
            throw Fail($"{what}.pattern is not {{\"String\": \"...\"}}");
        }
    }
}
