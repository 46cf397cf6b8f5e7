using System.Text.Json.Nodes;
using DrICL.Training.Evaluation;
using NUnit.Framework;

namespace DrICL.Tests.Evaluation;

public class KShotCurveTests
{
    // Two tasks, three seeds, k = 0, 5, 10. Per seed the tasks average to 0.2 at k = 0 (their seed effects
    // cancel), to 0.6/0.7/0.65 at k = 5 and to 0.5 at k = 10.
    static KShotResults TwoTasks()
    {
        var results = new KShotResults();
        void Add(string task, int k, params double[] seeds) { foreach (var s in seeds) results.AddScore("dricl", task, k, s); }
        Add("a", 0, 0.1, 0.2, 0.3); Add("a", 5, 0.5, 0.5, 0.5); Add("a", 10, 0.4, 0.4, 0.4);
        Add("b", 0, 0.3, 0.2, 0.1); Add("b", 5, 0.7, 0.9, 0.8); Add("b", 10, 0.6, 0.6, 0.6);
        return results;
    }

    [Test]
    public void TaskMeanAndSampleStandardDeviationPerK()
    {
        var curve = TwoTasks().Summarize().Objectives["dricl"];
        Assert.That(curve.K, Is.EqualTo(new[] { 0, 5, 10 }));
        Assert.That(curve.Tasks.Keys, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(curve.Tasks["a"].Mean, Is.EqualTo(new[] { 0.2, 0.5, 0.4 }).Within(1e-12));
        Assert.That(curve.Tasks["a"].Spread, Is.EqualTo(new[] { 0.1, 0.0, 0.0 }).Within(1e-12), "n - 1 denominator: deviations ±0.1 over 2");
        Assert.That(curve.Tasks["b"].Mean, Is.EqualTo(new[] { 0.2, 0.8, 0.6 }).Within(1e-12));
        Assert.That(curve.Tasks["b"].Spread, Is.EqualTo(new[] { 0.1, 0.1, 0.0 }).Within(1e-12));
        Assert.That(curve.Tasks["b"].Seeds, Is.EqualTo(new[] { 3, 3, 3 }));
    }

    [Test]
    public void TheTaskAverageAveragesTasksPerSeedBeforeTakingTheSpread()
    {
        var average = TwoTasks().Summarize().Objectives["dricl"].Average;
        Assert.That(average.Mean, Is.EqualTo(new[] { 0.2, 0.65, 0.5 }).Within(1e-12));
        // Per-seed averages 0.2, 0.2, 0.2 at k = 0, so no spread although each task has spread 0.1; 0.6, 0.7, 0.65 at k = 5.
        Assert.That(average.Spread, Is.EqualTo(new[] { 0.0, 0.05, 0.0 }).Within(1e-12));
    }

    [Test]
    public void StabilityOfTheAverageAcrossK()
    {
        var stability = TwoTasks().Summarize().Objectives["dricl"].Stability;
        // Means 0.2, 0.65, 0.5 around 0.45: squares 0.0625 + 0.04 + 0.0025 = 0.105, / 2, sqrt.
        Assert.That(stability.StdAcrossK, Is.EqualTo(Math.Sqrt(0.0525)).Within(1e-12));
        Assert.That(stability.BestK, Is.EqualTo(5));
        Assert.That(stability.BestMean, Is.EqualTo(0.65).Within(1e-12));
        Assert.That(stability.LargestK, Is.EqualTo(10));
        Assert.That(stability.MeanAtLargestK, Is.EqualTo(0.5).Within(1e-12));
        Assert.That(stability.DropFromBest, Is.EqualTo(0.15).Within(1e-12));
    }

    [Test]
    public void TasksThatCannotHoldKLeaveTheAverageThereAndSeedsMustPair()
    {
        var longer = TwoTasks();
        foreach (var score in new[] { 0.5, 0.7, 0.9 }) longer.AddScore("dricl", "a", 20, score);
        var curve = longer.Summarize().Objectives["dricl"];
        Assert.That(curve.K, Is.EqualTo(new[] { 0, 5, 10, 20 }));
        Assert.That(curve.Tasks["a"].K, Is.EqualTo(new[] { 0, 5, 10, 20 }));
        Assert.That(curve.Tasks["b"].K, Is.EqualTo(new[] { 0, 5, 10 }));
        Assert.That(curve.Average.TaskCount, Is.EqualTo(new[] { 2, 2, 2, 1 }));
        Assert.That(curve.Average.Mean[3], Is.EqualTo(0.7).Within(1e-12));
        Assert.That(curve.Average.Mean[1], Is.EqualTo(0.65).Within(1e-12));

        var uneven = TwoTasks();
        uneven.AddScore("dricl", "b", 10, 0.6);
        Assert.That(() => uneven.Summarize(), Throws.ArgumentException.With.Message.Contains("3 seeds at k=10 in one task but 4 in task 'b'"));
    }

    [Test]
    public void BadInputsAreRejected()
    {
        var results = new KShotResults();
        Assert.Throws<ArgumentException>(() => results.AddScore("it", "a", 0, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => results.AddScore("it", "a", -1, 0.5));
        Assert.Throws<ArgumentException>(() => results.AddTrainLoss("it", 3, double.PositiveInfinity));
        results.AddTrainLoss("it", 0, 2.0);
        Assert.That(() => results.Summarize(), Throws.InvalidOperationException.With.Message.Contains("'it' has a training loss but no evaluation scores"));
    }

    [Test]
    public void ObjectivesKeepTheirOrderAndLossesAreSortedByStep()
    {
        var results = new KShotResults();
        foreach (var objective in new[] { "none", "it", "metaicl", "dricl" }) results.AddScore(objective, "a", 0, 0.5);
        results.AddTrainLoss("it", 20, 1.5);
        results.AddTrainLoss("it", 10, 2.5);
        var report = results.Summarize();
        Assert.That(report.Objectives.Keys, Is.EqualTo(new[] { "none", "it", "metaicl", "dricl" }));
        Assert.That(report.Objectives["it"].TrainLoss, Is.EqualTo(new[] { new LossPoint(10, 2.5), new LossPoint(20, 1.5) }));
        Assert.That(report.Objectives["none"].TrainLoss, Is.Empty);
    }

    [Test]
    public void JsonHasTheDocumentedShapeAndRoundTrips()
    {
        var results = TwoTasks();
        results.AddTrainLoss("dricl", 0, 3.25);
        results.AddTrainLoss("dricl", 100, 1.5);
        var report = results.Summarize(new JsonObject { ["model"] = "tiny", ["steps"] = 100 });
        string json = report.ToJson();

        var root = JsonNode.Parse(json)!.AsObject();
        Assert.That(root.Select(p => p.Key), Is.EqualTo(new[] { "objectives", "meta" }));
        var dricl = root["objectives"]!["dricl"]!.AsObject();
        Assert.That(dricl.Select(p => p.Key), Is.EqualTo(new[] { "k", "tasks", "average", "stability", "train_loss" }));
        Assert.That(dricl["k"]!.AsArray().Select(n => (int)n!), Is.EqualTo(new[] { 0, 5, 10 }));
        Assert.That(dricl["tasks"]!["b"]!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "k", "mean", "spread", "seeds" }));
        Assert.That(dricl["average"]!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "k", "task_count", "mean", "spread", "seeds" }));
        Assert.That((double)dricl["average"]!["mean"]![1]!, Is.EqualTo(0.65).Within(1e-12));
        Assert.That(dricl["stability"]!.AsObject().Select(p => p.Key),
            Is.EqualTo(new[] { "std_across_k", "best_k", "best_mean", "largest_k", "mean_at_largest_k", "drop_from_best" }));
        Assert.That(dricl["train_loss"]!.ToJsonString(), Is.EqualTo("[[0,3.25],[100,1.5]]"));
        Assert.That((string)root["meta"]!["model"]!, Is.EqualTo("tiny"));

        var back = KShotReport.FromJson(json);
        Assert.That(back.ToJson(), Is.EqualTo(json));
        Assert.That(back.Objectives["dricl"].TrainLoss[1], Is.EqualTo(new LossPoint(100, 1.5)));
    }
}
