using System.Text.Json;

namespace DrICL.Model.Tokenization;

/// <summary>
/// The Hugging Face tokenizer.json BPE of two families, giving the same ids as the Rust tokenizers library:
/// SentencePiece-style (Llama-2, Mistral: '▁' for spaces, byte fallback) and byte-level (GPT-2, Llama 3).
/// Encoding follows its pipeline: added tokens are cut out of the raw text, each remaining segment is
/// normalized (old files: Prepend '▁', Replace ' ' by '▁') or pre-tokenized (Metaspace; or ByteLevel: split
/// into words by the family's regex, each UTF-8 byte written as a character), then merged by the BPE model.
/// Thread-safe: encoding shares only a concurrent word cache.
/// </summary>
public sealed class BpeTokenizer : EngineTokenizer
{
    private readonly BpeModel model;
    private readonly NormalizerStep[] normalizer;
    private readonly PreTokenizerSpec? preTokenizer;
    private readonly AddedTokenMatcher rawMatcher;        // tokens with normalized: false, matched in the raw text
    private readonly AddedTokenMatcher normalizedMatcher; // tokens with normalized: true, matched after normalization
    private readonly TokenDecoder decoder;
    private readonly string?[] tokens;  // id -> token string (added tokens override the model's)
    private readonly bool[] special;    // id -> skipped by Decode(skipSpecialTokens: true)
    private readonly int[] byteOf;      // id -> byte of a "<0xNN>" token, -1 otherwise
    private readonly Dictionary<string, int> ids;

    private BpeTokenizer(TokenizerSpec spec, string source, JsonElement? config)
    {
        model = new BpeModel(spec.Model, spec.Metaspace, source);
        normalizer = [.. spec.Normalizer];
        preTokenizer = spec.PreTokenizer;
        decoder = new TokenDecoder(spec.Decoder);

        int maxId = Math.Max(spec.Model.Vocab.Values.DefaultIfEmpty(-1).Max(), spec.AddedTokens.Select(t => t.Id).DefaultIfEmpty(-1).Max());
        VocabSize = maxId + 1;
        tokens = new string?[VocabSize];
        foreach (var (token, id) in spec.Model.Vocab) tokens[id] = token;
        ids = new Dictionary<string, int>(spec.Model.Vocab, StringComparer.Ordinal);
        foreach (var t in spec.AddedTokens)
        {
            tokens[t.Id] = t.Content;
            ids[t.Content] = t.Id;
        }
        // Hugging Face skips by content: any id whose string is a special token's.
        var specialContents = spec.AddedTokens.Where(t => t.Special).Select(t => t.Content).ToHashSet(StringComparer.Ordinal);
        special = tokens.Select(t => t is not null && specialContents.Contains(t)).ToArray();
        byteOf = tokens.Select(t => t is null ? -1 : TokenDecoder.ByteOf(t)).ToArray();

        rawMatcher = new AddedTokenMatcher(spec.AddedTokens.Where(t => !t.Normalized).Select(t => (t.Content, t)));
        // Normalized added tokens are looked for in their normalized spelling, as Hugging Face does.
        normalizedMatcher = new AddedTokenMatcher(spec.AddedTokens.Where(t => t.Normalized).Select(t => (Normalize(t.Content), t)));

        AddsBosByDefault = spec.Template?.Prefix is not null;
        AddsEosByDefault = spec.Template?.Suffix is not null;
        // Without a tokenizer_config.json naming them, the family's usual BOS/EOS (Llama-2's, Llama 3's).
        bool byteLevel = spec.PreTokenizer is ByteLevelSpec;
        BosId = spec.Template?.Prefix ?? ResolveSpecial(config, "bos_token", byteLevel ? "<|begin_of_text|>" : "<s>", source);
        EosId = spec.Template?.Suffix ?? ResolveSpecial(config, "eos_token", byteLevel ? "<|end_of_text|>" : "</s>", source);
    }

    /// <summary>Loads a tokenizer.json; a tokenizer_config.json beside it, if any, names the BOS/EOS tokens the template does not.</summary>
    public static BpeTokenizer Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerLoadException($"{path}: cannot read: {e.Message}", e);
        }
        string configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "tokenizer_config.json");
        JsonDocument? config = null;
        if (File.Exists(configPath))
        {
            try
            {
                config = JsonDocument.Parse(File.ReadAllText(configPath));
            }
            catch (JsonException e)
            {
                throw new TokenizerLoadException($"{configPath}: invalid JSON: {e.Message}", e);
            }
        }
        using (config) return new BpeTokenizer(TokenizerJson.Parse(json, path), path, config?.RootElement);
    }

    /// <summary>Builds a tokenizer from tokenizer.json text; <paramref name="source"/> names it in errors.</summary>
    public static BpeTokenizer FromJson(string json, string source = "tokenizer.json") =>
        new(TokenizerJson.Parse(json, source), source, null);

    public override int VocabSize { get; }
    public override int BosId { get; }
    public override int EosId { get; }

    /// <summary>Whether the file's post_processor adds BOS (resp. EOS) when Hugging Face encodes with special tokens.</summary>
    public bool AddsBosByDefault { get; }
    public bool AddsEosByDefault { get; }

    /// <summary>The token string of an id ("▁Hello", "&lt;0x0A&gt;", "&lt;s&gt;"), or null for an id without one.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)tokens.Length ? tokens[id] : null;

    public int? TokenToId(string token) => ids.TryGetValue(token, out int id) ? id : null;

    public bool IsSpecial(int id) => (uint)id < (uint)special.Length && special[id];

    public override TokenizedText Encode(string text, bool addBos = false, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        using var sink = new TokenSink(text.Length / 3 + 4);
        using var normalized = new NormalizedText();
        using var word = new NormalizedText();
        if (addBos) sink.Add(BosId, 0);

        List<AddedTokenMatch>? matches = null;
        if (!rawMatcher.IsEmpty) rawMatcher.Find(text, matches = []);
        int pos = 0;
        foreach (var m in matches ?? [])
        {
            EncodeSegment(text.AsSpan(pos, m.Start - pos), pos, sink, normalized, word);
            sink.Add(m.Id, m.Start);
            pos = m.End;
        }
        EncodeSegment(text.AsSpan(pos), pos, sink, normalized, word);

        if (addEos) sink.Add(EosId, text.Length);
        return sink.ToResult();
    }

    private void EncodeSegment(ReadOnlySpan<char> segment, int offset, TokenSink sink, NormalizedText normalized, NormalizedText word)
    {
        if (segment.IsEmpty) return;
        normalized.Load(segment, offset);
        foreach (var step in normalizer) Apply(step, normalized);
        if (normalizedMatcher.IsEmpty)
        {
            PreTokenizeAndMerge(normalized, 0, normalized.Length, sink, word);
            return;
        }
        var matches = new List<AddedTokenMatch>();
        normalizedMatcher.Find(normalized.Chars, matches);
        int pos = 0;
        foreach (var m in matches)
        {
            PreTokenizeAndMerge(normalized, pos, m.Start, sink, word);
            sink.Add(m.Id, normalized.Origin[m.Start]);
            pos = m.End;
        }
        PreTokenizeAndMerge(normalized, pos, normalized.Length, sink, word);
    }

    private void PreTokenizeAndMerge(NormalizedText normalized, int start, int end, TokenSink sink, NormalizedText word)
    {
        if (start == end) return;
        if (preTokenizer is ByteLevelSpec byteLevel)
        {
            ReadOnlySpan<char> text = normalized.Chars[start..end];
            ReadOnlySpan<int> textOrigin = normalized.Origin[start..end];
            for (int i = 0, j; i < text.Length; i = j)
            {
                j = WordSplitter.WordEnd(byteLevel.Pattern, text, i);
                model.EncodeByteLevel(text[i..j], textOrigin[i..j], sink);
            }
            return;
        }
        if (preTokenizer is not MetaspaceSpec ms)
        {
            model.Encode(normalized.Chars[start..end], normalized.Origin[start..end], sink);
            return;
        }
        word.Load(normalized, start, end);
        word.Chars.Replace(' ', ms.Replacement);
        char r = ms.Replacement;
        bool prepend = ms.Prepend switch
        {
            PrependScheme.Always => word.Chars[0] != r,
            // Only the piece that starts the text: not one that follows an added token.
            PrependScheme.First => word.Chars[0] != r && word.Origin[0] == 0,
            _ => false,
        };
        if (prepend) word.Prepend(r.ToString());
        ReadOnlySpan<char> chars = word.Chars;
        ReadOnlySpan<int> origin = word.Origin;
        if (!ms.Split)
        {
            model.Encode(chars, origin, sink);
            return;
        }
        // Split "merged with next": every metaspace starts a new word.
        int from = 0;
        for (int i = 1; i < chars.Length; i++)
        {
            if (chars[i] != r) continue;
            model.Encode(chars[from..i], origin[from..i], sink);
            from = i;
        }
        model.Encode(chars[from..], origin[from..], sink);
    }

    private static void Apply(NormalizerStep step, NormalizedText text)
    {
        switch (step)
        {
            case PrependNormalizer p: text.Prepend(p.Prepend); break;
            case ReplaceNormalizer r: text.Replace(r.Pattern, r.Content); break;
        }
    }

    private string Normalize(string s)
    {
        using var text = new NormalizedText();
        text.Load(s, 0);
        foreach (var step in normalizer) Apply(step, text);
        return text.Chars.ToString();
    }

    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var strings = new List<string>(ids.Length);
        foreach (int id in ids)
            if (IdToToken(id) is { } t && !(skipSpecialTokens && special[id])) strings.Add(t);
        return decoder.Decode(strings, atStart: true, atEnd: true);
    }

    /// <summary>An incremental decoder for generation: feed ids one at a time, get text deltas.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = true) => new(this, skipSpecialTokens);

    /// <summary>Decodes a chunk of kept ids (already filtered of skipped specials) for <see cref="StreamingDecoder"/>.</summary>
    internal string DecodeChunk(List<int> chunk, bool atStart, bool atEnd) =>
        decoder.Decode(chunk.Select(id => tokens[id]!).ToList(), atStart, atEnd);

    /// <summary>The byte an id decodes to when the decoder has ByteFallback, else -1.</summary>
    internal int ByteOf(int id) => decoder.HasByteFallback ? byteOf[id] : -1;

    /// <summary>True when every token stands for bytes (a ByteLevel decoder), so a character may end inside any token.</summary>
    internal bool IsByteLevel => decoder.IsByteLevel;

    /// <summary>Appends the bytes a kept id stands for under a ByteLevel decoder.</summary>
    internal void AppendBytes(int id, List<byte> bytes) => ByteLevel.AppendBytes(tokens[id]!, bytes);

    private int ResolveSpecial(JsonElement? config, string field, string fallback, string source)
    {
        string name = config is { } c ? TokenizerConfig.TokenName(c, field) ?? fallback : fallback;
        return TokenToId(name) ?? throw new TokenizerLoadException(
            $"{source}: cannot find the {field[..3].ToUpperInvariant()} token '{name}' (not in the post_processor template, and no such token)");
    }
}
