using System.Globalization;
using System.Text;

namespace DrICL.Model.Tokenization;

/// <summary>The split regexes of byte-level BPE that the engine knows, by the pre-tokenizer that carries them.</summary>
internal enum SplitPattern
{
    /// <summary>Llama 3's Split pre-tokenizer pattern (<see cref="WordSplitter.Llama3Regex"/>).</summary>
    Llama3,
    /// <summary>GPT-2's, built into the ByteLevel pre-tokenizer with use_regex (<see cref="WordSplitter.Gpt2Regex"/>).</summary>
    Gpt2,
}

/// <summary>
/// Cuts text into words exactly as byte-level BPE's split regex does (Hugging Face matches it with Oniguruma),
/// written out as a scanner: a regex engine is the slowest part of byte-level encoding, and these patterns
/// only need each character's class (letter \p{L}, number \p{N}, whitespace \s, \r/\n, other) and a little
/// lookahead. Every position starts a match of some alternative, so the words tile the text. Characters are
/// classified as code points (surrogate pairs together), as Oniguruma does on UTF-8.
/// </summary>
internal static class WordSplitter
{
    public const string Llama3Regex =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public const string Gpt2Regex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    enum Kind : byte { Other, Letter, Number, Space, Newline }

    static readonly Kind[] bmp = BuildBmp();

    static Kind[] BuildBmp()
    {
        var table = new Kind[char.MaxValue + 1];
        for (int c = 0; c <= char.MaxValue; c++)
            table[c] = char.IsSurrogate((char)c) ? Kind.Other : KindOf(new Rune(c));
        return table;
    }

    static Kind KindOf(Rune r)
    {
        if (r.Value is '\r' or '\n') return Kind.Newline;
        if (Rune.IsWhiteSpace(r)) return Kind.Space;
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Number,
            _ => Kind.Other,
        };
    }

    /// <summary>The class of the code point at i, and its width in chars (2 for a surrogate pair; a lone surrogate is Other).</summary>
    static Kind At(ReadOnlySpan<char> s, int i, out int width)
    {
        char c = s[i];
        width = 1;
        if (!char.IsHighSurrogate(c) || i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return bmp[c];
        width = 2;
        return KindOf(new Rune(c, s[i + 1]));
    }

    static bool Is(ReadOnlySpan<char> s, int i, Kind kind) => i < s.Length && At(s, i, out _) == kind;

    /// <summary>End of the run of characters of one kind starting at i (at most max code points).</summary>
    static int Run(ReadOnlySpan<char> s, int i, Kind kind, int max = int.MaxValue)
    {
        for (int count = 0; count < max && i < s.Length && At(s, i, out int w) == kind; count++) i += w;
        return i;
    }

    static bool IsWhite(Kind k) => k is Kind.Space or Kind.Newline;

    /// <summary>The end of the word that starts at i (i &lt; s.Length).</summary>
    public static int WordEnd(SplitPattern pattern, ReadOnlySpan<char> s, int i) =>
        pattern == SplitPattern.Llama3 ? Llama3WordEnd(s, i) : Gpt2WordEnd(s, i);

    static int Llama3WordEnd(ReadOnlySpan<char> s, int i)
    {
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (s[i] == '\'' && Contraction(s, i, ignoreCase: true) is int contraction) return contraction;
        var k = At(s, i, out int w);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (k == Kind.Letter) return Run(s, i, Kind.Letter);
        if (k is Kind.Other or Kind.Space && Is(s, i + w, Kind.Letter)) return Run(s, i + w, Kind.Letter);
        // \p{N}{1,3}
        if (k == Kind.Number) return Run(s, i, Kind.Number, max: 3);
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        int o = s[i] == ' ' && Is(s, i + 1, Kind.Other) ? i + 1 : i;
        if (Is(s, o, Kind.Other))
        {
            int end = Run(s, o, Kind.Other);
            while (end < s.Length && s[end] is '\r' or '\n') end++;
            return end;
        }
        // \s*[\r\n]+ : the whitespace run up to its last \r or \n, when it has one
        int run = i, lastNewline = -1;
        for (; run < s.Length && IsWhite(At(s, run, out int rw)); run += rw)
            if (s[run] is '\r' or '\n') lastNewline = run;
        if (lastNewline >= 0) return lastNewline + 1;
        return SpacesEnd(s, i, run);
    }

    static int Gpt2WordEnd(ReadOnlySpan<char> s, int i)
    {
        if (s[i] == '\'' && Contraction(s, i, ignoreCase: false) is int contraction) return contraction;
        // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
        int o = s[i] == ' ' && i + 1 < s.Length && !IsWhite(At(s, i + 1, out _)) ? i + 1 : i;
        var k = At(s, o, out _);
        if (!IsWhite(k)) return Run(s, o, k);
        int run = i;
        while (run < s.Length && IsWhite(At(s, run, out int rw))) run += rw;
        return SpacesEnd(s, i, run);
    }

    /// <summary>\s+(?!\S)|\s+ over the whitespace run [i, run): all of it at the end of the text, else all but its last character when that leaves some.</summary>
    static int SpacesEnd(ReadOnlySpan<char> s, int i, int run) => run == s.Length || run - i < 2 ? run : run - 1;

    /// <summary>'s 't 're 've 'm 'll 'd at i (an apostrophe): the end of the contraction, or null.</summary>
    static int? Contraction(ReadOnlySpan<char> s, int i, bool ignoreCase)
    {
        char a = Lower(s, i + 1, ignoreCase), b = Lower(s, i + 2, ignoreCase);
        if (a is 's' or 't' or 'm' or 'd') return i + 2;
        if ((a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l')) return i + 3;
        return null;
    }

    static char Lower(ReadOnlySpan<char> s, int at, bool ignoreCase) =>
        at >= s.Length ? '\0' : ignoreCase && s[at] is >= 'A' and <= 'Z' ? (char)(s[at] | 0x20) : s[at];
}
