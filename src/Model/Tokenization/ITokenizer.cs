namespace DrICL.Model.Tokenization;

/// <summary>
/// Token ids of a text and, for each token, the index in the text of the first character it covers.
/// An added BOS has offset 0 and an added EOS offset text.Length; byte-fallback tokens of one character
/// share that character's offset. Offsets let callers map character ranges (an answer, a demonstration)
/// onto tokens after encoding the whole string at once.
/// </summary>
public readonly record struct TokenizedText(int[] Ids, int[] Offsets);

/// <summary>Text to token ids and back. Two families: the Hugging Face BPE (Llama/Mistral) and a byte-level one for the built-in suite.</summary>
public interface ITokenizer
{
    int VocabSize { get; }
    int BosId { get; }
    int EosId { get; }

    TokenizedText Encode(string text, bool addBos = false, bool addEos = false);
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true);
}
