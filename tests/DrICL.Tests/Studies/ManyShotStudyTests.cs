using System.Text.Json.Nodes;
using DrICL.Tests.Evaluation;
using DrICL.Tests.Robustness;
using NUnit.Framework;

namespace DrICL.Tests.Studies;

/// <summary>`dricl study many-shot --quick` end to end through the CLI, twice: the files, their structure, the same numbers on the same options, a report that renders.</summary>
[NonParallelizable]
public class ManyShotStudyTests
{
    static readonly string[] Main = ["none", "it", "metaicl", "dricl"];
    static string first = "", second = "";
    static (int Exit, string Out, string Err) run, rerun;

    [OneTimeSetUp]
    public static void RunQuickStudyTwice()
    {
        first = Path.Combine(Path.GetTempPath(), "dricl-many-shot-" + Guid.NewGuid().ToString("N"));
        second = first + "-again";
        run = CliRunner.Run("study", "many-shot", "--quick", "--out", first);
        rerun = CliRunner.Run("study", "many-shot", "--quick", "--out", second);
    }

    [OneTimeTearDown]
    public static void Remove()
    {
        foreach (var dir in new[] { first, second }) if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    [Test]
    public void WritesEveryArmsCurvesRawScoresAndThePairedFindings()
    {
        Assert.That(run.Exit, Is.Zero, run.Err);
        Assert.That(run.Out, Does.Contain(Path.Combine(first, "report.html")));
        Assert.That(run.Out, Does.Contain("DrICL - IT at k >= 20"));
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(first, "results.json")))!;
        var arms = results["arms"]!.AsObject();
        Assert.That(arms.Select(a => a.Key).Take(5), Is.EqualTo(Main.Append("solver")));
        Assert.That(arms, Has.Count.EqualTo(5 + 7), "the main arms, the solver, the sweep's default and six sensitivity points");
        int seeds = results["meta"]!["seeds"]!.GetValue<int>(), items = results["meta"]!["items_per_seed"]!.GetValue<int>();
        Assert.That(seeds, Is.EqualTo(3));
        foreach (var (name, arm) in arms)
        {
            var families = arm!["families"]!.AsObject();
            Assert.That(families.Select(f => f.Key), Is.EqualTo(new[] { "prototype", "feature-rule", "label-map" }), name);
            foreach (var (family, curve) in families)
            {
                int ks = curve!["k"]!.AsArray().Count;
                Assert.That(curve["score"]!.AsArray(), Has.Count.EqualTo(ks), $"{name} {family}");
                var raw = curve["raw"]!.AsArray();
                Assert.That(raw, Has.Count.EqualTo(ks));
                Assert.That(raw.Select(k => k!.AsArray().Count), Is.All.EqualTo(seeds));
                Assert.That(raw.SelectMany(k => k!.AsArray()).Select(s => s!.AsArray().Count), Is.All.EqualTo(items));
            }
            int steps = name is "none" or "solver" ? 0 : results["meta"]![name.Contains("sweep") || name.Contains('=') ? "sweep_steps" : "steps"]!.GetValue<int>();
            Assert.That(arm["train_loss"]!.AsArray().Select(s => s!.AsArray().Count), Is.All.EqualTo(steps), name);
        }
        foreach (var key in new[] { "dricl_minus_it", "metaicl_minus_it", "it_many_shot_minus_zero_shot" })
        {
            var average = results[key]!["average"]!["difference"]!;
            Assert.That(average["low"]!.GetValue<double>(), Is.LessThanOrEqualTo(average["high"]!.GetValue<double>()), key);
        }
        Assert.That(results["sweep"]!.AsArray().Select(p => p!["factor"]!.GetValue<string>()).Distinct(), Is.EquivalentTo(new[] { "alpha", "gamma", "window" }));
        Assert.That(results["dricl_step_cost_ratio"]!.GetValue<double>(), Is.GreaterThan(0));
    }

    [Test]
    public void MainArmsAreScoredWhileTheyTrainAndTheLastCheckpointIsTheFinalScore()
    {
        Assert.That(run.Exit, Is.Zero, run.Err);
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(first, "results.json")))!;
        var curveSteps = results["meta"]!["curve_steps"]!.AsArray().Select(s => s!.GetValue<int>()).ToArray();
        Assert.That(curveSteps, Is.EqualTo(new[] { 0, 1, 2 }), "the quick plan: 2 steps scored at 0, 1 and 2");
        foreach (var (name, arm) in results["arms"]!.AsObject())
        {
            bool main = name is "it" or "metaicl" or "dricl";
            Assert.That(arm!["during_training"] is not null, Is.EqualTo(main), name);
            if (!main) continue;
            var points = arm["during_training"]!.AsArray();
            Assert.That(points.Select(p => p!["step"]!.GetValue<int>()), Is.EqualTo(curveSteps), name);
            var families = arm["families"]!.AsObject().Select(f => f.Value!["raw"]!.AsArray()).ToArray();
            var last = points[^1]!["raw"]!.AsArray();
            var untrained = results["arms"]!["none"]!["families"]!.AsObject().Select(f => f.Value!["raw"]!.AsArray()).ToArray();
            for (int f = 0; f < families.Length; f++)
            {
                Assert.That(last[f]![0]!.ToJsonString(), Is.EqualTo(families[f][0]!.ToJsonString()), $"{name}: the last checkpoint at k=0 is the final score");
                Assert.That(last[f]![1]!.ToJsonString(), Is.EqualTo(families[f][^1]!.ToJsonString()), $"{name}: the last checkpoint at the largest k is the final score");
                Assert.That(points[0]!["raw"]![f]![1]!.ToJsonString(), Is.EqualTo(untrained[f][^1]!.ToJsonString()), $"{name}: step 0 is the untrained model");
            }
        }
    }

    [Test]
    public void SameOptionsGiveTheSameNumbers()
    {
        Assert.That(rerun.Exit, Is.Zero, rerun.Err);
        Assert.That(WithoutTimings(Path.Combine(second, "results.json")), Is.EqualTo(WithoutTimings(Path.Combine(first, "results.json"))));
    }

    [Test]
    public void DimensionNotDivisibleByHeadsIsRefused() =>
        Workspace.AssertRefused(CliRunner.Run("study", "many-shot", "--quick", "--dim", "30", "--heads", "4", "--out", first + "-refused"), "--dim");

    [Test, Category("Browser")]
    public void ReportRendersInChromium()
    {
        ReportBrowserTests.RequireChromium();
        var (code, log) = ReportBrowserTests.CheckReport(Path.Combine(first, "report.html"), Path.Combine(first, "report.png"));
        Assert.That(code, Is.Zero, log);
    }

    /// <summary>results.json without what a clock measured: the run's seconds and the step times.</summary>
    static string WithoutTimings(string path)
    {
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json["meta"]!.AsObject().Remove("seconds");
        json.Remove("median_step_seconds");
        json.Remove("dricl_step_cost_ratio");
        foreach (var (_, arm) in json["arms"]!.AsObject()) arm!.AsObject().Remove("median_step_seconds");
        return json.ToJsonString();
    }
}
