using System.Text;
using DrICL.Model.Tokenization;

namespace DrICL.Tests.Data;

/// <summary>
/// A stand-in for a BPE vocabulary: greedy longest match over multi-character pieces, one token per character
/// otherwise. Like the Hugging Face tokenizers it turns "&lt;s&gt;" and "&lt;/s&gt;" written in the text into BOS and EOS.
/// Ids: 0 unused, 1 BOS, 2 EOS, 3.. the pieces, then 3 + pieces + UTF-16 code unit for single characters.
/// </summary>
sealed class MergingTokenizer(params string[] pieces) : EngineTokenizer
{
    int CharBase => 3 + pieces.Length;

    public override int VocabSize => CharBase + 65536;
    public override int BosId => 1;
    public override int EosId => 2;

    public override TokenizedText Encode(string text, bool addBos = false, bool addEos = false)
    {
        var ids = new List<int>();
        var offsets = new List<int>();
        if (addBos) { ids.Add(BosId); offsets.Add(0); }
        for (int i = 0; i < text.Length;)
        {
            offsets.Add(i);
            if (string.CompareOrdinal(text, i, "<s>", 0, 3) == 0) { ids.Add(BosId); i += 3; continue; }
            if (string.CompareOrdinal(text, i, "</s>", 0, 4) == 0) { ids.Add(EosId); i += 4; continue; }
            int best = -1;
            for (int p = 0; p < pieces.Length; p++)
                if (string.CompareOrdinal(text, i, pieces[p], 0, pieces[p].Length) == 0 && (best < 0 || pieces[p].Length > pieces[best].Length))
                    best = p;
            if (best >= 0) { ids.Add(3 + best); i += pieces[best].Length; }
            else { ids.Add(CharBase + text[i]); i++; }
        }
        if (addEos) { ids.Add(EosId); offsets.Add(text.Length); }
        return new TokenizedText([.. ids], [.. offsets]);
    }

    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var text = new StringBuilder();
        foreach (int id in ids)
        {
            if (id >= CharBase) text.Append((char)(id - CharBase));
            else if (id >= 3) text.Append(pieces[id - 3]);
            else if (!skipSpecialTokens) text.Append(id == BosId ? "<s>" : "</s>");
        }
        return text.ToString();
    }
}
