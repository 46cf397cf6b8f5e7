using System.Buffers;
using System.Text;

namespace DrICL.Model.Tokenization;

/// <summary>
/// Decodes generated ids one at a time into text deltas whose concatenation equals
/// <see cref="BpeTokenizer.Decode"/> of all ids. Byte-fallback tokens (and, in byte-level BPE, any token)
/// are held back until they complete a UTF-8 character, so no delta ends in half a character; the decoder's leading-space strip applies once,
/// to the first non-empty text. (On invalid UTF-8 the two differ: Decode turns a whole run of byte tokens
/// into U+FFFD when any of it is invalid, while the stream has already shown the valid characters.)
/// </summary>
public sealed class StreamingDecoder
{
    private readonly BpeTokenizer tokenizer;
    private readonly bool skipSpecialTokens;
    private readonly List<int> pending = [];
    private bool atStart = true; // nothing shown yet: the next chunk is decoded as the start of the text

    internal StreamingDecoder(BpeTokenizer tokenizer, bool skipSpecialTokens)
    {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one id; returns the text it completes (often empty while a character or the start is pending).</summary>
    public string Push(int id)
    {
        if (tokenizer.IdToToken(id) is null || (skipSpecialTokens && tokenizer.IsSpecial(id))) return "";
        pending.Add(id);
        if (EndsInsideCharacter()) return "";
        string text = tokenizer.DecodeChunk(pending, atStart, atEnd: false);
        // Until something shows, keep the ids: a later token may still be the one the leading strip removes from.
        if (atStart && text.Length == 0) return "";
        pending.Clear();
        atStart = false;
        return text;
    }

    /// <summary>Ends the stream: whatever is pending (an unfinished byte sequence shows as U+FFFD).</summary>
    public string Flush()
    {
        string text = pending.Count == 0 ? "" : tokenizer.DecodeChunk(pending, atStart, atEnd: true);
        Reset();
        return text;
    }

    public void Reset()
    {
        pending.Clear();
        atStart = true;
    }

    /// <summary>Whether the pending ids end with bytes that are a valid but unfinished UTF-8 sequence.</summary>
    private bool EndsInsideCharacter()
    {
        var tail = new List<byte>();
        if (tokenizer.IsByteLevel)
            foreach (int id in pending) tokenizer.AppendBytes(id, tail);
        else
        {
            int first = pending.Count;
            while (first > 0 && tokenizer.ByteOf(pending[first - 1]) >= 0) first--;
            for (int i = first; i < pending.Count; i++) tail.Add((byte)tokenizer.ByteOf(pending[i]));
        }
        ReadOnlySpan<byte> bytes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tail);
        while (!bytes.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(bytes, out _, out int used);
            if (status == OperationStatus.NeedMoreData) return true;
            if (status != OperationStatus.Done) return false; // invalid: show it now, as U+FFFD
            bytes = bytes[used..];
        }
        return false;
    }
}
