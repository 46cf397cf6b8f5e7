using DrICL.Model;
using DrICL.Model.Tokenization;
using DrICL.Training.Data;
using Microsoft.ML.Tokenizers;

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
    /// <summary>
    /// Scores every task at each k of ks, in order, until its episodes can no longer hold k demonstrations in
    /// the context (the builder had to drop some, or not even the query fits): that task's curve ends there.
    /// Returns the largest k per task. Refuses to score when the model's logits are not finite.
    /// </summary>
    public static Dictionary<string, int> Run(Transformer model, Tokenizer tokenizer, string objective, IReadOnlyList<EvalTask> tasks, IReadOnlyList<int> ks,
        int seeds, int queriesPerSeed, int maxAnswerTokens, KShotResults results)
    {
        var reached = new Dictionary<string, int>();
        foreach (var task in tasks)
            foreach (int k in ks)
            {
                List<List<Episode>> episodes;
                try { episodes = Enumerable.Range(0, seeds).Select(seed => Enumerable.Range(0, queriesPerSeed).Select(q => task.Episode(k, seed, q)).ToList()).ToList(); }
                catch (EpisodeTooLongException) { break; }
                if (episodes.Any(perSeed => perSeed.Any(e => e.DemonstrationCount != k + 1))) break;
                foreach (var perSeed in episodes)
                {
                    string[] answers;
                    try { answers = [.. perSeed.Select(e => Answer(model, tokenizer, e, maxAnswerTokens))]; }
                    catch (NonFiniteLogitsException e) { throw new InvalidDataException($"task {task.Name}, k={k}: {e.Message}; not scoring", e); }
                    results.AddScore(objective, task.Name, k, Metrics.Score(task.Metric, answers, [.. perSeed.Select(e => e.QueryAnswer)]));
                }
                reached[task.Name] = k;
            }
        var missing = tasks.Where(t => !reached.ContainsKey(t.Name)).Select(t => t.Name).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"tasks {string.Join(", ", missing)}: not even k={ks[0]} fits the context");
        return reached;
    }

    /// <summary>The model's answer to an episode's query: greedy tokens after the query prompt, up to EOS.</summary>
    public static string Answer(Transformer model, Tokenizer tokenizer, Episode episode, int maxAnswerTokens)
    {
        var prompt = episode.InputIds[..episode.Query.TokenStart];
        var answer = Generation.Generate(model, prompt, maxAnswerTokens, new SamplingOptions(), tokenizer.EosId)
            .TakeWhile(id => id != tokenizer.EosId).ToArray();
        // A SentencePiece answer token may carry the space before the answer ("▁positive"): trim it.
        return tokenizer.Decode(answer, skipSpecialTokens: true).Trim();
    }
}
