using System.Text.Json.Nodes;

namespace DrICL.Training.Evaluation;

/// <summary>
/// Collects raw evaluation scores and training losses during a run, then summarizes them into a
/// <see cref="KShotReport"/>. Objectives keep the order they were first added in.
/// </summary>
public sealed class KShotResults
{
    readonly Dictionary<string, Dictionary<string, Dictionary<int, List<double>>>> scores = [];
    readonly Dictionary<string, List<LossPoint>> trainLoss = [];
    readonly List<string> objectives = [];

    /// <summary>Records one seed's score; call in the same seed order for every task so the task average pairs seeds.</summary>
    public void AddScore(string objective, string task, int k, double score)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (!double.IsFinite(score)) throw new ArgumentException($"score {score} for '{objective}', '{task}', k={k} is not finite.", nameof(score));
        Note(objective);
        var byTask = scores.TryGetValue(objective, out var t) ? t : scores[objective] = [];
        var byK = byTask.TryGetValue(task, out var kk) ? kk : byTask[task] = [];
        (byK.TryGetValue(k, out var seeds) ? seeds : byK[k] = []).Add(score);
    }

    public void AddTrainLoss(string objective, long step, double loss)
    {
        if (!double.IsFinite(loss)) throw new ArgumentException($"training loss {loss} of '{objective}' at step {step} is not finite.", nameof(loss));
        Note(objective);
        (trainLoss.TryGetValue(objective, out var points) ? points : trainLoss[objective] = []).Add(new LossPoint(step, loss));
    }

    /// <param name="meta">Free-form run details (model size, steps, seconds, "metrics": task → metric name, ...).</param>
    public KShotReport Summarize(JsonObject? meta = null)
    {
        var curves = new Dictionary<string, KShotCurve>();
        foreach (var objective in objectives)
        {
            if (!scores.TryGetValue(objective, out var byTask))
                throw new InvalidOperationException($"objective '{objective}' has a training loss but no evaluation scores.");
            var view = byTask.ToDictionary(t => t.Key,
                t => (IReadOnlyDictionary<int, IReadOnlyList<double>>)t.Value.ToDictionary(k => k.Key, k => (IReadOnlyList<double>)k.Value));
            curves[objective] = KShotCurve.Summarize(objective, view, trainLoss.GetValueOrDefault(objective) ?? []);
        }
        return new KShotReport { Objectives = curves, Meta = meta ?? [] };
    }

    void Note(string objective)
    {
        if (!scores.ContainsKey(objective) && !trainLoss.ContainsKey(objective)) objectives.Add(objective);
    }
}
