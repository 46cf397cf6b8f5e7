using System.Buffers;
using System.Text;

namespace DrICL.Model.Tokenization;

/// <summary>
/// A scratch buffer of normalized characters, each with the index of the original character it came from,
/// so that token offsets can point back into the caller's text. Arrays come from the shared pool.
/// </summary>
internal sealed class NormalizedText : IDisposable
{
    private char[] chars = [];
    private int[] origin = [];

    public int Length { get; private set; }
    public Span<char> Chars => chars.AsSpan(0, Length);
    public Span<int> Origin => origin.AsSpan(0, Length);

    public void Load(ReadOnlySpan<char> text, int originStart)
    {
        Reserve(text.Length);
        text.CopyTo(chars);
        for (int i = 0; i < text.Length; i++) origin[i] = originStart + i;
        Length = text.Length;
    }

    public void Load(NormalizedText source, int start, int end)
    {
        Reserve(end - start);
        source.chars.AsSpan(start, end - start).CopyTo(chars);
        source.origin.AsSpan(start, end - start).CopyTo(origin);
        Length = end - start;
    }

    /// <summary>Each UTF-8 byte of <paramref name="text"/> as its byte-level character, mapped to the index of the character it came from.</summary>
    public void LoadByteLevel(ReadOnlySpan<char> text)
    {
        Reserve(text.Length * 3); // a UTF-16 char is at most 3 UTF-8 bytes (a surrogate pair, 2 chars, is 4)
        var charOf = ByteLevel.CharOf;
        Span<byte> utf8 = stackalloc byte[4];
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < 0x80)
            {
                chars[n] = charOf[c];
                origin[n++] = i;
                continue;
            }
            // A lone surrogate (which UTF-8 cannot hold) is written as U+FFFD.
            bool pair = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            var rune = pair ? new Rune(c, text[i + 1]) : Rune.TryCreate(c, out var r) ? r : Rune.ReplacementChar;
            int count = rune.EncodeToUtf8(utf8);
            for (int b = 0; b < count; b++)
            {
                chars[n] = charOf[utf8[b]];
                origin[n++] = i;
            }
            if (pair) i++;
        }
        Length = n;
    }

    /// <summary>Prepends <paramref name="prefix"/> unless empty (as Hugging Face's Prepend); it maps to the first character.</summary>
    public void Prepend(string prefix)
    {
        if (Length == 0) return;
        int n = prefix.Length;
        Reserve(Length + n, keep: true);
        chars.AsSpan(0, Length).CopyTo(chars.AsSpan(n));
        origin.AsSpan(0, Length).CopyTo(origin.AsSpan(n));
        prefix.CopyTo(chars);
        origin.AsSpan(0, n).Fill(origin[n]);
        Length += n;
    }

    /// <summary>Replaces every occurrence of <paramref name="pattern"/>; the new characters map to the match start.</summary>
    public void Replace(string pattern, string content)
    {
        if (pattern.Length == 1 && content.Length == 1)
        {
            Chars.Replace(pattern[0], content[0]); // the common ' ' -> '▁', in place and vectorized
            return;
        }
        int count = 0;
        for (int at = 0; (at = IndexOf(pattern, at)) >= 0; at += pattern.Length) count++;
        if (count == 0) return;

        var newChars = ArrayPool<char>.Shared.Rent(Math.Max(1, Length + count * (content.Length - pattern.Length)));
        var newOrigin = ArrayPool<int>.Shared.Rent(newChars.Length);
        int from = 0, to = 0;
        for (int at; (at = IndexOf(pattern, from)) >= 0; from = at + pattern.Length)
        {
            chars.AsSpan(from, at - from).CopyTo(newChars.AsSpan(to));
            origin.AsSpan(from, at - from).CopyTo(newOrigin.AsSpan(to));
            to += at - from;
            content.CopyTo(newChars.AsSpan(to));
            newOrigin.AsSpan(to, content.Length).Fill(origin[at]);
            to += content.Length;
        }
        chars.AsSpan(from, Length - from).CopyTo(newChars.AsSpan(to));
        origin.AsSpan(from, Length - from).CopyTo(newOrigin.AsSpan(to));
        to += Length - from;
        Dispose();
        (chars, origin, Length) = (newChars, newOrigin, to);
    }

    private int IndexOf(string pattern, int from)
    {
        int i = chars.AsSpan(from, Length - from).IndexOf(pattern, StringComparison.Ordinal);
        return i < 0 ? -1 : from + i;
    }

    private void Reserve(int capacity, bool keep = false)
    {
        if (capacity <= chars.Length && capacity <= origin.Length) return;
        var newChars = ArrayPool<char>.Shared.Rent(capacity);
        var newOrigin = ArrayPool<int>.Shared.Rent(capacity);
        if (keep)
        {
            Chars.CopyTo(newChars);
            Origin.CopyTo(newOrigin);
        }
        int length = Length;
        Dispose();
        (chars, origin, Length) = (newChars, newOrigin, length);
    }

    public void Dispose()
    {
        if (chars.Length > 0) ArrayPool<char>.Shared.Return(chars);
        if (origin.Length > 0) ArrayPool<int>.Shared.Return(origin);
        (chars, origin, Length) = ([], [], 0);
    }
}
