namespace DrICL.Model.Tokenization;

/// <summary>
/// GPT-2's byte-to-character table, used by byte-level BPE (GPT-2, Llama 3): every UTF-8 byte of the text is
/// written as one printable character, so that the vocabulary and merges are plain strings. Printable
/// Latin-1 bytes stand for themselves; the others (controls, space, 0x7F-0xA0, 0xAD) take U+0100 onwards
/// in byte order: the space becomes 'Ġ', '\n' becomes 'Ċ'.
/// </summary>
internal static class ByteLevel
{
    /// <summary>byte -> its stand-in character.</summary>
    public static readonly char[] CharOf = BuildCharOf();

    /// <summary>character -> the byte it stands for, -1 for a character outside the table.</summary>
    static readonly short[] byteOf = BuildByteOf();

    public static int ByteOf(char c) => c < byteOf.Length ? byteOf[c] : -1;

    static char[] BuildCharOf()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    static short[] BuildByteOf()
    {
        var table = new short[512];
        Array.Fill(table, (short)-1);
        for (int b = 0; b < 256; b++) table[CharOf[b]] = (short)b;
        return table;
    }

    /// <summary>
    /// The bytes a byte-level token stands for, as Hugging Face's ByteLevel decoder reads them: a token with a
    /// character outside the table (an added token such as "&lt;|eot_id|&gt;" never has one, but a hand-made
    /// vocabulary may) contributes its own UTF-8 bytes.
    /// </summary>
    public static void AppendBytes(string token, List<byte> bytes)
    {
        int start = bytes.Count;
        foreach (char c in token)
        {
            int b = ByteOf(c);
            if (b < 0)
            {
                bytes.RemoveRange(start, bytes.Count - start);
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
                return;
            }
            bytes.Add((byte)b);
        }
    }
}
