using System.Text;

namespace DrICL.Training.Evaluation;

/// <summary>
/// Exact match after normalization: trim both ends, collapse every run of whitespace to one space and,
/// unless <c>ignoreCase</c> is false, lowercase with the invariant culture. Punctuation is kept, so
/// "positive." and "positive" differ; answers are expected in the label vocabulary of the task.
/// </summary>
public static class ExactMatch
{
    public static string Normalize(string text, bool ignoreCase = true)
    {
        var normalized = new StringBuilder(text.Length);
        bool pendingSpace = false;
        foreach (char c in text.AsSpan().Trim())
        {
            if (char.IsWhiteSpace(c)) { pendingSpace = true; continue; }
            if (pendingSpace) { normalized.Append(' '); pendingSpace = false; }
            normalized.Append(ignoreCase ? char.ToLowerInvariant(c) : c);
        }
        return normalized.ToString();
    }

    public static bool Matches(string prediction, string reference, bool ignoreCase = true) =>
        Normalize(prediction, ignoreCase) == Normalize(reference, ignoreCase);

    /// <summary>The fraction of pairs that match; 0 for no pairs.</summary>
    public static double Accuracy(IReadOnlyList<string> predictions, IReadOnlyList<string> references, bool ignoreCase = true)
    {
        MetricText.CheckPairs(predictions, references);
        if (predictions.Count == 0) return 0;
        int matched = 0;
        for (int i = 0; i < predictions.Count; i++) if (Matches(predictions[i], references[i], ignoreCase)) matched++;
        return (double)matched / predictions.Count;
    }
}
