using DrICL.Training.Evaluation;
using NUnit.Framework;

namespace DrICL.Tests.Evaluation;

public class MetricsTests
{
    [Test]
    public void ExactMatchTrimsCollapsesWhitespaceAndIgnoresCaseByDefault()
    {
        Assert.That(ExactMatch.Normalize("  The   Cat\tsat\n"), Is.EqualTo("the cat sat"));
        Assert.That(ExactMatch.Normalize("  The   Cat\tsat\n", ignoreCase: false), Is.EqualTo("The Cat sat"));
        Assert.That(ExactMatch.Matches("Positive", " positive "), Is.True);
        Assert.That(ExactMatch.Matches("Positive", "positive", ignoreCase: false), Is.False);
        Assert.That(ExactMatch.Matches("positive.", "positive"), Is.False, "punctuation is part of the answer");
    }

    [Test]
    public void ExactMatchAccuracyIsTheFractionMatched()
    {
        Assert.That(ExactMatch.Accuracy(["a", "B ", "c"], ["a", "b", "d"]), Is.EqualTo(2.0 / 3).Within(1e-12));
        Assert.That(ExactMatch.Accuracy([], []), Is.Zero);
        Assert.Throws<ArgumentException>(() => ExactMatch.Accuracy(["a"], ["a", "b"]));
    }

    [Test]
    public void WordsAreLowercaseRunsOfLettersAndDigits() =>
        Assert.That(MetricText.Words("Don't stop! Hello,world 42x"), Is.EqualTo(new[] { "don", "t", "stop", "hello", "world", "42x" }));

    [Test]
    public void Rouge1CountsEachWordAtMostAsOftenAsInTheReference()
    {
        // 3 of 5 predicted words are in the reference, all 3 reference words are predicted: P 3/5, R 1, F 2(0.6)/(1.6).
        var subset = Rouge.Rouge1("a b c d e", "a c e");
        Assert.That(subset.Precision, Is.EqualTo(0.6).Within(1e-12));
        Assert.That(subset.Recall, Is.EqualTo(1.0).Within(1e-12));
        Assert.That(subset.F1, Is.EqualTo(0.75).Within(1e-12));
        // "the" occurs once in the reference, so only one of three counts: P 1/3, R 1/2, F 2(1/6)/(5/6) = 0.4.
        Assert.That(Rouge.Rouge1("the the the", "the cat").F1, Is.EqualTo(0.4).Within(1e-12));
        Assert.That(Rouge.Rouge1("Hello, World!", "hello world").F1, Is.EqualTo(1.0));
    }

    [Test]
    public void RougeLUsesTheLongestCommonSubsequence()
    {
        // Reversed order: every word matches for ROUGE-1, but the LCS is one word.
        Assert.That(Rouge.Rouge1("c b a", "a b c").F1, Is.EqualTo(1.0).Within(1e-12));
        Assert.That(Rouge.RougeL("c b a", "a b c").F1, Is.EqualTo(1.0 / 3).Within(1e-12));
        // Lin (2004): LCS "police the gunman" = 3 of 4 words either way.
        Assert.That(Rouge.RougeL("police killed the gunman", "police kill the gunman").F1, Is.EqualTo(0.75).Within(1e-12));
        // LCS "the cat on the mat" = 5: P 5/7, R 5/5, F 2(5/7)/(12/7) = 5/6.
        var gapped = Rouge.RougeL("The cat sat on the mat, today.", "the cat on the mat");
        Assert.That(gapped.Precision, Is.EqualTo(5.0 / 7).Within(1e-12));
        Assert.That(gapped.Recall, Is.EqualTo(1.0).Within(1e-12));
        Assert.That(gapped.F1, Is.EqualTo(5.0 / 6).Within(1e-12));
    }

    [Test]
    public void RougeOfAnEmptyTextIsZero()
    {
        Assert.That(Rouge.RougeL("", "a b").F1, Is.Zero);
        Assert.That(Rouge.Rouge1("a b", "!!").F1, Is.Zero);
        Assert.That(Rouge.MeanRougeLF1(["c b a", "a b"], ["a b c", "a b"]), Is.EqualTo((1.0 / 3 + 1) / 2).Within(1e-12));
    }

    [Test]
    public void BleuOfIdenticalTextIsOneAndOfDisjointTextIsZero()
    {
        Assert.That(Bleu.Sentence("the quick brown fox jumps", "The quick brown fox jumps."), Is.EqualTo(1.0).Within(1e-12));
        Assert.That(Bleu.Sentence("yes", "yes"), Is.EqualTo(1.0).Within(1e-12), "orders longer than the answer count as matched");
        Assert.That(Bleu.Sentence("alpha beta gamma delta", "one two three four"), Is.Zero);
        Assert.That(Bleu.Sentence("", "one two"), Is.Zero);
    }

    [Test]
    public void SentenceBleuWorkedExample()
    {
        // "the cat sat on the mat" against "the cat is on the mat", 6 words each so BP = 1.
        //   1-grams: the x2, cat, on, mat match: 5/6
        //   2-grams: the cat, on the, the mat match 3 of 5 -> (3+1)/(5+1) = 4/6
        //   3-grams: on the mat matches 1 of 4 -> 2/5
        //   4-grams: none of 3 -> 1/4
        // BLEU = (5/6 * 4/6 * 2/5 * 1/4)^(1/4) = (1/18)^(1/4) = 0.48549
        Assert.That(Bleu.Sentence("the cat sat on the mat", "the cat is on the mat"), Is.EqualTo(Math.Pow(1.0 / 18, 0.25)).Within(1e-12));
        Assert.That(Bleu.Sentence("the cat sat on the mat", "the cat is on the mat"), Is.EqualTo(0.48549).Within(1e-5));
    }

    [Test]
    public void BleuBrevityPenalty()
    {
        // Every n-gram of "the cat" matches, but 2 words against 6: BP = exp(1 - 6/2) = exp(-2).
        Assert.That(Bleu.Sentence("the cat", "the cat sat on the mat"), Is.EqualTo(Math.Exp(-2)).Within(1e-12));
        // A longer prediction is not penalized by length, only by precision: every n-gram but those ending in "now"
        // matches, so p = 5/6, (4+1)/(5+1), (3+1)/(4+1), (2+1)/(3+1).
        Assert.That(Bleu.Sentence("the cat on the mat now", "the cat on the mat"),
            Is.EqualTo(Math.Pow(5.0 / 6 * 5.0 / 6 * 4.0 / 5 * 3.0 / 4, 0.25)).Within(1e-12));
    }

    [Test]
    public void CorpusBleuPoolsCountsBeforeTakingPrecisions()
    {
        // Pooled with the worked example plus an exact "a b": p1 = 7/8, p2 = (4+1)/(6+1), p3 = (1+1)/(4+1), p4 = 1/4,
        // lengths 8 and 8: BLEU = (7/8 * 5/7 * 2/5 * 1/4)^(1/4) = (1/16)^(1/4) = 0.5, not the mean of the two sentence BLEUs.
        string[] predictions = ["the cat sat on the mat", "a b"], references = ["the cat is on the mat", "a b"];
        Assert.That(Bleu.Corpus(predictions, references), Is.EqualTo(0.5).Within(1e-12));
        Assert.That(Metrics.Score(Metric.Bleu, predictions, references), Is.EqualTo(0.5).Within(1e-12));
    }

    [Test]
    public void TaskScoresDispatchOnTheMetric()
    {
        string[] predictions = ["c b a", "Yes"], references = ["a b c", "yes"];
        Assert.That(Metrics.Score(Metric.ExactMatch, predictions, references), Is.EqualTo(0.5));
        Assert.That(Metrics.Score(Metric.Rouge1, predictions, references), Is.EqualTo(1.0).Within(1e-12));
        Assert.That(Metrics.Score(Metric.RougeL, predictions, references), Is.EqualTo((1.0 / 3 + 1) / 2).Within(1e-12));
        Assert.That(Metrics.Name(Metric.RougeL), Is.EqualTo("rougeL"));
    }
}
