using DrICL.Model;
using DrICL.Model.Tokenization;
using DrICL.Training.Data;

namespace DrICL.Training.Evaluation;

/// <summary>A task to evaluate: how to score it, and its evaluation episode for (shots k, seed, query index).</summary>
public sealed record EvalTask(string Name, Metric Metric, Func<int, int, int, Episode> Episode);

/// <summary>
/// The k-shot curve: for every task, every k and every seed, the model answers a few held-out queries after
/// k demonstrations (greedy decoding with a KV cache, stopped at EOS) and the answers are scored with the
/// task's metric; the mean over the queries is that seed's score.
/// </summary>
public static class KShotEvaluator
{
    public static void Run(Transformer model, ITokenizer tokenizer, string objective, IReadOnlyList<EvalTask> tasks, IReadOnlyList<int> ks,
        int seeds, int queriesPerSeed, int maxAnswerTokens, KShotResults results)
    {
        foreach (var task in tasks)
            foreach (int k in ks)
                for (int seed = 0; seed < seeds; seed++)
                {
                    var predictions = new List<string>();
                    var references = new List<string>();
                    for (int q = 0; q < queriesPerSeed; q++)
                    {
                        var episode = task.Episode(k, seed, q);
                        if (episode.DemonstrationCount != k + 1)
                            throw new InvalidOperationException($"task {task.Name}: a {k}-shot episode kept {episode.DemonstrationCount - 1} demonstrations; k does not fit the context");
                        predictions.Add(Answer(model, tokenizer, episode, maxAnswerTokens));
                        references.Add(episode.QueryAnswer);
                    }
                    results.AddScore(objective, task.Name, k, Metrics.Score(task.Metric, predictions, references));
                }
    }

    /// <summary>The model's answer to an episode's query: greedy tokens after the query prompt, up to EOS.</summary>
    public static string Answer(Transformer model, ITokenizer tokenizer, Episode episode, int maxAnswerTokens)
    {
        var prompt = episode.InputIds[..episode.Query.TokenStart];
        var answer = Generation.Generate(model, prompt, maxAnswerTokens, new SamplingOptions(), tokenizer.EosId)
            .TakeWhile(id => id != tokenizer.EosId).ToArray();
        // A SentencePiece answer token may carry the space before the answer ("▁positive"): trim it.
        return tokenizer.Decode(answer).Trim();
    }
}
