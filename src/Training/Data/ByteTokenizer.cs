using System.Text;
using DrICL.Model.Tokenization;

namespace DrICL.Training.Data;

/// <summary>
/// Byte-level tokenizer for the built-in synthetic suite: three specials, then one id per UTF-8 byte.
/// <c>0 = &lt;pad&gt;</c>, <c>1 = &lt;s&gt;</c> (BOS), <c>2 = &lt;/s&gt;</c> (EOS), <c>3 + b</c> = byte <c>b</c>; VocabSize 259.
/// BOS/EOS match the Llama/Mistral ids, so the same layout code serves both tokenizers. Specials only come
/// from the addBos/addEos flags: text is always bytes, so "&lt;/s&gt;" written in a text is six byte tokens.
/// </summary>
public sealed class ByteTokenizer : EngineTokenizer
{
    public const int PadId = 0;
    public const int ByteOffset = 3;

    public override int VocabSize => ByteOffset + 256;
    public override int BosId => 1;
    public override int EosId => 2;

    /// <summary>UTF-8 bytes of the text; every byte of a character gets that character's index as offset
    /// (a surrogate pair's bytes get the index of its high surrogate; a lone surrogate becomes U+FFFD).</summary>
    public override TokenizedText Encode(string text, bool addBos = false, bool addEos = false)
    {
        var ids = new List<int>(text.Length + 2);
        var offsets = new List<int>(text.Length + 2);
        if (addBos) { ids.Add(BosId); offsets.Add(0); }
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out Rune rune, out int charsConsumed) != System.Buffers.OperationStatus.Done)
                rune = Rune.ReplacementChar;
            int byteCount = rune.EncodeToUtf8(utf8);
            for (int b = 0; b < byteCount; b++) { ids.Add(ByteOffset + utf8[b]); offsets.Add(i); }
            i += charsConsumed;
        }
        if (addEos) { ids.Add(EosId); offsets.Add(text.Length); }
        return new TokenizedText([.. ids], [.. offsets]);
    }

    /// <summary>Bytes back to text; invalid UTF-8 becomes U+FFFD. Kept specials render as &lt;pad&gt;, &lt;s&gt;, &lt;/s&gt;.</summary>
    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var text = new StringBuilder(ids.Length);
        var bytes = new List<byte>(ids.Length);
        foreach (int id in ids)
        {
            if (id < 0 || id >= VocabSize)
                throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the byte vocabulary [0, {VocabSize})");
            if (id >= ByteOffset) { bytes.Add((byte)(id - ByteOffset)); continue; }
            if (skipSpecialTokens) continue;
            // Flush pending bytes first so a special between two halves of a character stays in place.
            text.Append(Encoding.UTF8.GetString([.. bytes]));
            bytes.Clear();
            text.Append(id switch { PadId => "<pad>", 1 => "<s>", _ => "</s>" });
        }
        text.Append(Encoding.UTF8.GetString([.. bytes]));
        return text.ToString();
    }
}
