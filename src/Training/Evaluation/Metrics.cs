namespace DrICL.Training.Evaluation;

/// <summary>The task-level metrics a task can be scored with; every score is a fraction in [0, 1], higher is better.</summary>
public enum Metric { ExactMatch, Rouge1, RougeL, Bleu }

public static class Metrics
{
    /// <summary>
    /// Scores a task: exact-match accuracy (case-insensitive), the mean per-example ROUGE-1 or ROUGE-L F1,
    /// or corpus BLEU-4.
    /// </summary>
    public static double Score(Metric metric, IReadOnlyList<string> predictions, IReadOnlyList<string> references) => metric switch
    {
        Metric.ExactMatch => ExactMatch.Accuracy(predictions, references),
        Metric.Rouge1 => Rouge.MeanRouge1F1(predictions, references),
        Metric.RougeL => Rouge.MeanRougeLF1(predictions, references),
        Metric.Bleu => Bleu.Corpus(predictions, references),
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, null),
    };

    /// <summary>The name used in reports and result JSON ("exact_match", "rouge1", "rougeL", "bleu").</summary>
    public static string Name(Metric metric) => metric switch
    {
        Metric.ExactMatch => "exact_match",
        Metric.Rouge1 => "rouge1",
        Metric.RougeL => "rougeL",
        Metric.Bleu => "bleu",
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, null),
    };
}
