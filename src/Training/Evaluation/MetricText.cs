namespace DrICL.Training.Evaluation;

/// <summary>Tokenization shared by ROUGE and BLEU, and the argument checks of corpus-level metrics.</summary>
public static class MetricText
{
    /// <summary>
    /// Lowercase (invariant culture), then split into maximal runs of letters and digits; whitespace and
    /// punctuation only separate words and never become tokens. This is the rouge-score package's default
    /// tokenizer (without stemming) on ASCII text; it differs only in keeping non-ASCII letters, which
    /// rouge-score drops. "Don't stop!" gives ["don", "t", "stop"].
    /// </summary>
    public static string[] Words(string text)
    {
        var words = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool wordChar = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (wordChar && start < 0) start = i;
            else if (!wordChar && start >= 0)
            {
                words.Add(text[start..i].ToLowerInvariant());
                start = -1;
            }
        }
        return [.. words];
    }

    internal static void CheckPairs(IReadOnlyList<string> predictions, IReadOnlyList<string> references)
    {
        if (predictions.Count != references.Count)
            throw new ArgumentException($"{predictions.Count} predictions but {references.Count} references; they must pair up one to one.");
    }
}
