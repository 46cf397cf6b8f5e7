namespace DrICL.Training.Evaluation;

/// <summary>
/// BLEU-4 against one reference per prediction, on <see cref="MetricText.Words"/> tokens, as a fraction in [0, 1]:
///   BLEU = BP * exp(mean over n = 1..4 of log p_n),  BP = 1 if c >= r else exp(1 - r / c)
/// with c and r the prediction and reference lengths in words. p_n is the clipped n-gram precision (each
/// n-gram counts at most as often as it occurs in the reference). Smoothing is add-one on the 2- to 4-gram
/// precisions, p_n = (matches + 1) / (n-grams + 1) (Lin and Och 2004; NLTK's SmoothingFunction().method2),
/// so one missing 4-gram does not zero a short sentence; p_1 is not smoothed, so no word in common gives 0,
/// as does an empty prediction. Unlike NLTK, an order the prediction is too short to have scores 1
/// ((0 + 1) / (0 + 1)) rather than 1/2, so an exact short answer scores 1.
/// Corpus BLEU sums matches, n-gram counts and lengths over all pairs before taking precisions and BP, as in
/// Papineni et al. (2002); sentence BLEU is corpus BLEU of a single pair.
/// </summary>
public static class Bleu
{
    public const int MaxOrder = 4;

    public static double Sentence(string prediction, string reference) => Corpus([prediction], [reference]);

    public static double Corpus(IReadOnlyList<string> predictions, IReadOnlyList<string> references)
    {
        MetricText.CheckPairs(predictions, references);
        var matches = new long[MaxOrder + 1];
        var ngrams = new long[MaxOrder + 1];
        long predictionLength = 0, referenceLength = 0;
        for (int i = 0; i < predictions.Count; i++)
        {
            string[] predicted = MetricText.Words(predictions[i]), expected = MetricText.Words(references[i]);
            predictionLength += predicted.Length;
            referenceLength += expected.Length;
            for (int n = 1; n <= MaxOrder; n++)
            {
                var referenceCounts = NGramCounts(expected, n);
                foreach (var (gram, count) in NGramCounts(predicted, n))
                {
                    matches[n] += Math.Min(count, referenceCounts.GetValueOrDefault(gram));
                    ngrams[n] += count;
                }
            }
        }
        if (predictionLength == 0 || matches[1] == 0) return 0;

        double logPrecision = Math.Log((double)matches[1] / ngrams[1]);
        for (int n = 2; n <= MaxOrder; n++) logPrecision += Math.Log((matches[n] + 1.0) / (ngrams[n] + 1.0));
        double brevityPenalty = predictionLength >= referenceLength ? 1 : Math.Exp(1 - (double)referenceLength / predictionLength);
        return brevityPenalty * Math.Exp(logPrecision / MaxOrder);
    }

    static Dictionary<string, int> NGramCounts(string[] words, int n)
    {
        var counts = new Dictionary<string, int>();
        // U+001F (unit separator) cannot occur inside a word, so joined n-grams never collide.
        for (int i = 0; i + n <= words.Length; i++)
        {
            var gram = string.Join('\u001f', words, i, n);
            counts[gram] = counts.GetValueOrDefault(gram) + 1;
        }
        return counts;
    }
}
