using System.Text.Json.Nodes;
using DrICL.Training.Evaluation;

namespace DrICL.Tests.Evaluation;

/// <summary>
/// Deterministic made-up results shaped like a real run: four objectives, three tasks, k from 0 to 100,
/// three seeds, and a decaying noisy training loss for the trained objectives.
/// </summary>
static class SyntheticResults
{
    public static readonly int[] Ks = [0, 1, 3, 5, 10, 20, 50, 100];

    public static KShotResults Build(params string[] tasks)
    {
        if (tasks.Length == 0) tasks = ["sst2", "cosmos_qa", "xsum"];
        var rng = new Random(7);
        var results = new KShotResults();
        (string Name, double Peak, double Decline)[] objectives = [("none", 0.45, 0.12), ("it", 0.55, 0.08), ("metaicl", 0.6, 0.06), ("dricl", 0.65, 0.01)];
        foreach (var (name, peak, decline) in objectives)
            foreach (var task in tasks)
                foreach (int k in Ks)
                    for (int seed = 0; seed < 3; seed++)
                    {
                        // Rises with k up to about 10 shots, then declines by `decline` towards 100 shots.
                        double rise = 1 - Math.Exp(-(k + 0.5) / 3), fall = decline * Math.Log(1 + k) / Math.Log(101);
                        results.AddScore(name, task, k, Math.Clamp(0.2 + (peak - 0.2) * rise - fall + 0.03 * (rng.NextDouble() - 0.5), 0, 1));
                    }
        foreach (var (name, _, _) in objectives.Skip(1))
        {
            double floor = name == "dricl" ? 1.1 : 1.3;
            for (int step = 0; step <= 300; step += 5)
                results.AddTrainLoss(name, step, floor + 2.2 * Math.Exp(-step / 60.0) + 0.08 * (rng.NextDouble() - 0.5));
        }
        return results;
    }

    public static KShotReport Report(params string[] tasks) => Build(tasks).Summarize(new JsonObject
    {
        ["model"] = "tiny-llama 2L/64d",
        ["steps"] = 300,
        ["seconds"] = 12.5,
        ["metrics"] = new JsonObject { ["sst2"] = "exact_match", ["cosmos_qa"] = "exact_match", ["xsum"] = "rougeL" },
    });
}
