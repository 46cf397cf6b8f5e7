using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace DrICL.Model.Tokenization;

/// <summary>
/// The decoder chain of a tokenizer.json (Replace, ByteFallback, Fuse, Strip, Metaspace, ByteLevel), applied to token
/// strings exactly as Hugging Face's decode_chain. A chunk of tokens can be decoded away from the start of
/// the text (<c>atStart: false</c>: no leading strip, no first-token metaspace removal) or before its end
/// (<c>atEnd: false</c>: no trailing strip), which is what streaming needs.
/// </summary>
internal sealed class TokenDecoder
{
    private readonly Step[] steps;

    public TokenDecoder(IReadOnlyList<DecoderStepSpec> spec)
    {
        var list = new List<Step>();
        bool fused = false;
        foreach (var s in spec)
        {
            list.Add(s switch
            {
                ReplaceDecoderSpec r => new ReplaceStep(r.Pattern, r.Content),
                ByteFallbackDecoderSpec => new ByteFallbackStep(),
                FuseDecoderSpec => new FuseStep(),
                // After Fuse there is one token, the whole text: its strip is about the text's ends.
                StripDecoderSpec st => new StripStep(st.Content, st.Start, st.Stop, textLevel: fused),
                MetaspaceDecoderSpec m => new MetaspaceStep(m.Replacement, m.Prepend),
                ByteLevelDecoderSpec => new ByteLevelStep(),
                _ => throw new ArgumentOutOfRangeException(nameof(spec), s, "unknown decoder step"),
            });
            fused |= s is FuseDecoderSpec;
        }
        steps = [.. list];
        HasByteFallback = spec.Any(s => s is ByteFallbackDecoderSpec);
        IsByteLevel = spec.Any(s => s is ByteLevelDecoderSpec);
    }

    /// <summary>True when tokens stand for bytes (a ByteLevel step), so that a character may end inside any token.</summary>
    public bool IsByteLevel { get; }

    /// <summary>True when "&lt;0xNN&gt;" tokens decode to bytes, so that a character may span several tokens.</summary>
    public bool HasByteFallback { get; }

    public string Decode(List<string> tokens, bool atStart, bool atEnd)
    {
        foreach (var step in steps) step.Apply(tokens, atStart, atEnd);
        return string.Concat(tokens);
    }

    /// <summary>The byte a "&lt;0xNN&gt;" token stands for (the ByteFallback decoder's test), or -1.</summary>
    public static int ByteOf(string token) =>
        token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
        && byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b) ? b : -1;

    private abstract class Step
    {
        public abstract void Apply(List<string> tokens, bool atStart, bool atEnd);
    }

    private sealed class ReplaceStep(string pattern, string content) : Step
    {
        public override void Apply(List<string> tokens, bool atStart, bool atEnd)
        {
            for (int i = 0; i < tokens.Count; i++) tokens[i] = tokens[i].Replace(pattern, content, StringComparison.Ordinal);
        }
    }

    /// <summary>Runs of byte tokens become their UTF-8 text; an invalid run becomes one U+FFFD per byte.</summary>
    private sealed class ByteFallbackStep : Step
    {
        public override void Apply(List<string> tokens, bool atStart, bool atEnd)
        {
            var result = new List<string>(tokens.Count);
            var bytes = new List<byte>();
            foreach (var token in tokens)
            {
                int b = ByteOf(token);
                if (b >= 0)
                {
                    bytes.Add((byte)b);
                    continue;
                }
                Flush(bytes, result);
                result.Add(token);
            }
            Flush(bytes, result);
            tokens.Clear();
            tokens.AddRange(result);
        }

        private static void Flush(List<byte> bytes, List<string> result)
        {
            if (bytes.Count == 0) return;
            var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
            if (Utf8.IsValid(span)) result.Add(Encoding.UTF8.GetString(span));
            else for (int i = 0; i < bytes.Count; i++) result.Add("\uFFFD");
            bytes.Clear();
        }
    }

    /// <summary>All tokens become their bytes, decoded as UTF-8 into one string (each invalid sequence a U+FFFD, as Rust's from_utf8_lossy).</summary>
    private sealed class ByteLevelStep : Step
    {
        public override void Apply(List<string> tokens, bool atStart, bool atEnd)
        {
            var bytes = new List<byte>();
            foreach (var token in tokens) ByteLevel.AppendBytes(token, bytes);
            tokens.Clear();
            tokens.Add(Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)));
        }
    }

    private sealed class FuseStep : Step
    {
        public override void Apply(List<string> tokens, bool atStart, bool atEnd)
        {
            string all = string.Concat(tokens);
            tokens.Clear();
            tokens.Add(all);
        }
    }

    /// <summary>Removes up to <c>start</c> leading and <c>stop</c> trailing <c>content</c> characters per token.</summary>
    private sealed class StripStep(string content, int start, int stop, bool textLevel) : Step
    {
        public override void Apply(List<string> tokens, bool atStart, bool atEnd)
        {
            int maxStart = !textLevel || atStart ? start : 0;
            int maxStop = !textLevel || atEnd ? stop : 0;
            for (int i = 0; i < tokens.Count; i++)
            {
                string t = tokens[i];
                int from = 0, to = t.Length;
                for (int k = 0; k < maxStart && t.AsSpan(from).StartsWith(content, StringComparison.Ordinal); k++) from += content.Length;
                for (int k = 0; k < maxStop && to - from >= content.Length && t.AsSpan(from, to - from).EndsWith(content, StringComparison.Ordinal); k++)
                    to -= content.Length;
                tokens[i] = t[from..to];
            }
        }
    }

    /// <summary>The metaspace becomes a space, except in the text's first token when a prefix was prepended.</summary>
    private sealed class MetaspaceStep(string replacement, PrependScheme prepend) : Step
    {
        public override void Apply(List<string> tokens, bool atStart, bool atEnd)
        {
            for (int i = 0; i < tokens.Count; i++)
                tokens[i] = tokens[i].Replace(replacement, i == 0 && atStart && prepend != PrependScheme.Never ? "" : " ", StringComparison.Ordinal);
        }
    }
}
