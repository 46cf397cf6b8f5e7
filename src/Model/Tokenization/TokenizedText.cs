namespace DrICL.Model.Tokenization;

/// <summary>
/// Token ids of a text and, for each token, the index in the text of the first character it covers.
/// An added BOS has offset 0 and an added EOS offset text.Length; byte-fallback tokens of one character
/// share that character's offset. Offsets let callers map character ranges (an answer, a demonstration)
/// onto tokens after encoding the whole string at once.
/// </summary>
public readonly record struct TokenizedText(int[] Ids, int[] Offsets);
