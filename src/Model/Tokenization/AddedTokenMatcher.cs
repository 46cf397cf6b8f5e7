using System.Buffers;
using System.Globalization;
using System.Text;

namespace DrICL.Model.Tokenization;

/// <summary>An added token found in the text: chars [Start, End) (including whitespace it strips) become token Id.</summary>
internal readonly record struct AddedTokenMatch(int Start, int End, int Id);

/// <summary>
/// Finds added tokens in a text the way Hugging Face's AddedVocabulary does: leftmost-longest,
/// non-overlapping, with single_word, lstrip and rstrip. The text between matches goes to the model.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly record struct Pattern(string Text, AddedTokenSpec Token);

    private readonly Dictionary<char, Pattern[]> byFirstChar;
    private readonly SearchValues<char> firstChars;

    /// <param name="patterns">Each token with the text to look for (its content, or its normalized content).</param>
    public AddedTokenMatcher(IEnumerable<(string Text, AddedTokenSpec Token)> patterns)
    {
        byFirstChar = patterns.Where(p => p.Text.Length > 0)
            .GroupBy(p => p.Text[0])
            .ToDictionary(g => g.Key, g => g.Select(p => new Pattern(p.Text, p.Token)).OrderByDescending(p => p.Text.Length).ToArray());
        firstChars = SearchValues.Create(byFirstChar.Keys.ToArray());
    }

    public bool IsEmpty => byFirstChar.Count == 0;

    /// <summary>Appends the matches in <paramref name="text"/> to <paramref name="matches"/>, in order.</summary>
    public void Find(ReadOnlySpan<char> text, List<AddedTokenMatch> matches)
    {
        int consumed = 0; // end of the previous match, stripped whitespace included
        int pos = 0;
        while (pos < text.Length)
        {
            int hit = text[pos..].IndexOfAny(firstChars);
            if (hit < 0) break;
            int start = pos + hit;
            Pattern? found = null;
            foreach (var p in byFirstChar[text[start]])
                if (text[start..].StartsWith(p.Text, StringComparison.Ordinal)) { found = p; break; }
            if (found is not { } m)
            {
                pos = start + 1;
                continue;
            }
            int end = start + m.Text.Length;
            pos = end;
            if (start < consumed) continue; // inside whitespace an rstrip already took
            var token = m.Token;
            if (token.SingleWord && (EndsWithWordChar(text[..start]) || StartsWithWordChar(text[end..]))) continue;
            if (token.LStrip)
            {
                int s = start;
                while (s > consumed && char.IsWhiteSpace(text[s - 1])) s--;
                start = s;
            }
            if (token.RStrip)
                while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            matches.Add(new AddedTokenMatch(start, end, token.Id));
            consumed = end;
            pos = Math.Max(pos, end);
        }
    }

    // Rust regex \w: alphabetic, marks, decimal digits, connector punctuation, join controls.
    private static bool IsWordRune(Rune r) => Rune.GetUnicodeCategory(r) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber
            or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation => true,
        _ => r.Value is 0x200C or 0x200D,
    };

    private static bool EndsWithWordChar(ReadOnlySpan<char> s) =>
        Rune.DecodeLastFromUtf16(s, out var r, out _) == OperationStatus.Done && IsWordRune(r);

    private static bool StartsWithWordChar(ReadOnlySpan<char> s) =>
        Rune.DecodeFromUtf16(s, out var r, out _) == OperationStatus.Done && IsWordRune(r);
}
