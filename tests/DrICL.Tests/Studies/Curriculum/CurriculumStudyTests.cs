using System.Text.Json.Nodes;
using DrICL.Tests.Evaluation;
using NUnit.Framework;

namespace DrICL.Tests.Studies.Curriculum;

/// <summary>`dricl study curriculum --quick` end to end, twice: both files, their structure, determinism, pairing, the report in Chromium.</summary>
[NonParallelizable]
public class CurriculumStudyTests
{
    static readonly string[] Arms = ["none", "curriculum"];
    static string root = "";
    static (int Exit, string Out, string Err) first, second;

    static string Dir(int run) => Path.Combine(root, $"run{run}");

    [OneTimeSetUp]
    public static void RunQuickStudyTwice()
    {
        root = Directory.CreateTempSubdirectory("dricl-curriculum-").FullName;
        first = CliRunner.Run("study", "curriculum", "--quick", "--out", Dir(1));
        second = CliRunner.Run("study", "curriculum", "--quick", "--out", Dir(2));
    }

    [OneTimeTearDown]
    public static void Remove() => Directory.Delete(root, recursive: true);

    static JsonNode Results(int run) => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(run), "results.json")))!;

    [Test]
    public void WritesBothFilesWithEveryArmSeedAndItem()
    {
        Assert.That(first.Exit, Is.Zero, first.Err);
        Assert.That(first.Out, Does.Contain("report: " + Path.Combine(Dir(1), "report.html")).And.Contain("Paired curriculum − none"));
        var results = Results(1);
        int shots = results["shots"]!.GetValue<int>(), evaluations = results["evaluation_steps"]!.AsArray().Count;
        Assert.That(shots, Is.EqualTo(5), "a context of 64 holds 5 shots and the query");
        Assert.That(results["evaluation_steps"]!.AsArray().Select(s => s!.GetValue<int>()), Is.EqualTo(new[] { 0, 3, 6, 9, 12 }));
        var threshold = results["threshold"]!;
        Assert.That(threshold["optimal_loss"]!.GetValue<double>(), Is.LessThan(threshold["loss"]!.GetValue<double>()), "the demonstrations help the optimal learner");
        Assert.That(results["arms"]!.AsObject().Select(a => a.Key), Is.EqualTo(Arms));
        foreach (var arm in Arms)
        {
            var a = results["arms"]![arm]!;
            Assert.That(a["curve"]!.AsArray(), Has.Count.EqualTo(evaluations));
            Assert.That(a["accuracy_by_shots"]!.AsArray(), Has.Count.EqualTo(shots + 1));
            var perSeed = a["per_seed"]!.AsArray();
            Assert.That(perSeed, Has.Count.EqualTo(3));
            Assert.That(perSeed.Select(s => s!["query_correct"]!.AsArray().Count), Is.All.EqualTo(8), "[seed][item]");
            Assert.That(perSeed.Select(s => s!["query_loss_without_demonstrations"]!.AsArray().Count), Is.All.EqualTo(8));
            Assert.That(perSeed.Select(s => s!["training_loss"]!.AsArray().Count), Is.All.EqualTo(12));
            foreach (var key in new[] { "final_accuracy", "final_loss", "final_loss_minus_threshold", "steps_to_threshold" })
                Assert.That(a[key]!["low"]!.GetValue<double>(), Is.LessThanOrEqualTo(a[key]!["estimate"]!.GetValue<double>()), $"{arm} {key}");
        }
        Assert.That(results["paired_curriculum_minus_none"]!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "steps_to_threshold", "final_accuracy", "final_loss" }));
        string html = File.ReadAllText(Path.Combine(Dir(1), "report.html"));
        Assert.That(html, Does.Contain("data-chart=\"loss\"").And.Contain("data-chart=\"shots\"").And.Contain("data-series=\"optimal learner\""));
    }

    /// <summary>Both arms start from the seed's initialization and are measured on the seed's items: their step-0 losses are the same numbers.</summary>
    [Test]
    public void ArmsShareInitializationAndHeldOutItems()
    {
        var perSeed = Arms.Select(arm => Results(1)["arms"]![arm]!["per_seed"]!.AsArray().Select(s => s!["curve"]![0]!.GetValue<double>()).ToArray()).ToArray();
        Assert.That(perSeed[1], Is.EqualTo(perSeed[0]));
        Assert.That(perSeed[0].Distinct().Count(), Is.EqualTo(3), "each seed its own initialization and items");
    }

    [Test]
    public void TheSameOptionsGiveTheSameNumbers()
    {
        Assert.That(second.Exit, Is.Zero, second.Err);
        var (a, b) = (Results(1), Results(2));
        foreach (var key in new[] { "threshold", "optimal_learner", "arms", "paired_curriculum_minus_none" })
            Assert.That(b[key]!.ToJsonString(), Is.EqualTo(a[key]!.ToJsonString()), key);
    }

    [Test, Category("Browser")]
    public void TheQuickReportRendersInChromium()
    {
        ReportBrowserTests.RequireChromium();
        var (code, output) = ReportBrowserTests.CheckReport(Path.Combine(Dir(1), "report.html"), Path.Combine(Dir(1), "report.png"));
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("charts=2 bad=0"));
    }

    [TestCase("--dim", "30", "--heads", "4", ExpectedResult = "error: --heads 4 does not divide --dim 30")]
    [TestCase("--context", "16", ExpectedResult = "error: --context 16 holds no sparse-linear demonstration and query: each takes 9 tokens after the 8 of BOS and the instruction")]
    public string BadSizesAreOneLineErrors(params string[] flags)
    {
        var run = CliRunner.Run(["study", "curriculum", "--quick", "--out", Path.Combine(root, "bad"), .. flags]);
        Assert.That(run.Exit, Is.EqualTo(2));
        return run.Err.TrimEnd();
    }
}
