using System.Buffers;
using Microsoft.ML.Tokenizers;

namespace DrICL.Model.Tokenization;

/// <summary>
/// The engine's own tokenizers (the tokenizer.json BPE, the synthetic suite's bytes) as Microsoft.ML.Tokenizers
/// tokenizers. Each one implements the engine's members (ids with offsets into the original text, BOS/EOS,
/// decoding with or without specials), and this class answers Microsoft.ML.Tokenizers' calls from them:
/// encodings always follow the tokenizer's own normalization and pre-tokenization (the tokenizer.json
/// pipeline has no switch for them), add no special tokens, and report each token's text as the slice of
/// the input it covers; decoding skips special tokens, as the engine's Decode does by default.
/// </summary>
public abstract class EngineTokenizer : Tokenizer
{
    /// <summary>One more than the largest id.</summary>
    public abstract int VocabSize { get; }
    public abstract int BosId { get; }
    public abstract int EosId { get; }

    public abstract TokenizedText Encode(string text, bool addBos = false, bool addEos = false);
    public abstract string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true);

    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        string s = text ?? textSpan.ToString();
        var (ids, offsets) = Encode(s);
        int count = Math.Min(ids.Length, settings.MaxTokenCount);
        var tokens = new List<EncodedToken>(count);
        for (int i = 0; i < count; i++)
        {
            // Tokens sharing a character (its UTF-8 bytes) each cover it whole.
            int end = i + 1 < offsets.Length ? Math.Max(offsets[i + 1], offsets[i]) : s.Length;
            if (end == offsets[i] && end < s.Length) end = offsets[i] + (char.IsHighSurrogate(s[end]) ? 2 : 1);
            tokens.Add(new EncodedToken(ids[i], s[offsets[i]..end], new Range(offsets[i], end)));
        }
        return new EncodeResults<EncodedToken> { Tokens = tokens, NormalizedText = null, CharsConsumed = count == ids.Length ? s.Length : offsets[count] };
    }

    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        string s = text ?? textSpan.ToString();
        var (ids, offsets) = Encode(s);
        int count = Math.Min(ids.Length, settings.MaxTokenCount);
        return new EncodeResults<int> { Tokens = ids[..count], NormalizedText = null, CharsConsumed = count == ids.Length ? s.Length : offsets[count] };
    }

    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings) =>
        Encode(text ?? textSpan.ToString()).Ids.Length;

    /// <summary>
    /// The longest prefix (or, fromEnd, suffix) of the text whose tokens number at most settings.MaxTokenCount,
    /// cut between characters: tokens that share a character (its UTF-8 bytes) are kept or dropped together.
    /// </summary>
    protected override int GetIndexByTokenCount(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd,
        out string? normalizedText, out int tokenCount)
    {
        string s = text ?? textSpan.ToString();
        var offsets = Encode(s).Offsets;
        int n = offsets.Length, max = settings.MaxTokenCount;
        normalizedText = null;
        bool Boundary(int k) => k == 0 || k == n || offsets[k] != offsets[k - 1];
        if (!fromEnd)
        {
            int k = Math.Min(max, n);
            while (!Boundary(k)) k--;
            tokenCount = k;
            return k == n ? s.Length : offsets[k];
        }
        int first = Math.Max(0, n - max);
        while (!Boundary(first)) first++;
        tokenCount = n - first;
        return first == n ? s.Length : offsets[first];
    }

    /// <summary>Decodes with special tokens skipped, as Decode(ids) always has in the engine (a call with an int[] binds here).</summary>
    public override string Decode(IEnumerable<int> ids) => Decode(ids.ToArray(), skipSpecialTokens: true);

    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        var all = ids.ToArray();
        string text = Decode(all, skipSpecialTokens: true);
        if (text.Length > destination.Length)
        {
            (idsConsumed, charsWritten) = (0, 0);
            return OperationStatus.DestinationTooSmall;
        }
        text.CopyTo(destination);
        (idsConsumed, charsWritten) = (all.Length, text.Length);
        return OperationStatus.Done;
    }
}
