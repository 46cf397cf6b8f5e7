namespace DrICL.Training.Evaluation;

/// <summary>Precision, recall and F1 (beta = 1: 2PR / (P + R), 0 when P + R = 0) as the rouge-score package reports them.</summary>
public readonly record struct RougeScore(double Precision, double Recall, double F1)
{
    internal static RougeScore FromOverlap(int overlap, int predictionLength, int referenceLength)
    {
        if (predictionLength == 0 || referenceLength == 0) return default;
        double p = (double)overlap / predictionLength, r = (double)overlap / referenceLength;
        return new RougeScore(p, r, p + r > 0 ? 2 * p * r / (p + r) : 0);
    }
}

/// <summary>
/// ROUGE-1 and ROUGE-L of one prediction against one reference, on <see cref="MetricText.Words"/> tokens.
/// An empty prediction or reference scores 0. Task-level ROUGE is the mean of the per-example F1.
/// </summary>
public static class Rouge
{
    /// <summary>Unigram overlap: each word counts at most as often as it occurs in both texts.</summary>
    public static RougeScore Rouge1(string prediction, string reference)
    {
        string[] predicted = MetricText.Words(prediction), expected = MetricText.Words(reference);
        var referenceCounts = new Dictionary<string, int>();
        foreach (var word in expected) referenceCounts[word] = referenceCounts.GetValueOrDefault(word) + 1;
        int overlap = 0;
        foreach (var word in predicted)
            if (referenceCounts.GetValueOrDefault(word) > 0) { referenceCounts[word]--; overlap++; }
        return RougeScore.FromOverlap(overlap, predicted.Length, expected.Length);
    }

    /// <summary>Overlap is the longest common subsequence, so word order matters but gaps do not.</summary>
    public static RougeScore RougeL(string prediction, string reference)
    {
        string[] predicted = MetricText.Words(prediction), expected = MetricText.Words(reference);
        return RougeScore.FromOverlap(LongestCommonSubsequence(predicted, expected), predicted.Length, expected.Length);
    }

    public static double MeanRouge1F1(IReadOnlyList<string> predictions, IReadOnlyList<string> references) =>
        MeanF1(predictions, references, Rouge1);

    public static double MeanRougeLF1(IReadOnlyList<string> predictions, IReadOnlyList<string> references) =>
        MeanF1(predictions, references, RougeL);

    static double MeanF1(IReadOnlyList<string> predictions, IReadOnlyList<string> references, Func<string, string, RougeScore> score)
    {
        MetricText.CheckPairs(predictions, references);
        if (predictions.Count == 0) return 0;
        double sum = 0;
        for (int i = 0; i < predictions.Count; i++) sum += score(predictions[i], references[i]).F1;
        return sum / predictions.Count;
    }

    // Dynamic programming over one row at a time: previous[j] is the LCS of a[..i] and b[..j].
    internal static int LongestCommonSubsequence(string[] a, string[] b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
                current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
