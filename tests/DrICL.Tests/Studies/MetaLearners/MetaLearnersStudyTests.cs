using System.Text.Json.Nodes;
using DrICL.Tests.Evaluation;
using NUnit.Framework;

namespace DrICL.Tests.Studies.MetaLearners;

/// <summary>`dricl study meta-learners --quick` end to end, twice: both files, their structure, determinism, the report in Chromium.</summary>
[NonParallelizable]
public class MetaLearnersStudyTests
{
    static readonly string[] Families = ["pair-metric", "prototype", "noisy-affine"];
    static string root = "";
    static (int Exit, string Out, string Err) first, second;

    static string Dir(int run) => Path.Combine(root, $"run{run}");

    [OneTimeSetUp]
    public static void RunQuickStudyTwice()
    {
        root = Directory.CreateTempSubdirectory("dricl-meta-learners-").FullName;
        first = CliRunner.Run("study", "meta-learners", "--quick", "--out", Dir(1));
        second = CliRunner.Run("study", "meta-learners", "--quick", "--out", Dir(2));
    }

    [OneTimeTearDown]
    public static void Remove() => Directory.Delete(root, recursive: true);

    static JsonNode Results(int run) => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(run), "results.json")))!;

    [Test]
    public void WritesBothFilesWithEveryArmFamilyAndShotCount()
    {
        Assert.That(first.Exit, Is.Zero, first.Err);
        Assert.That(first.Out, Does.Contain("report: " + Path.Combine(Dir(1), "report.html")).And.Contain("Does mixed training keep single-family performance?"));
        var results = Results(1);
        Assert.That(results["families"]!.AsObject().Select(f => f.Key), Is.EqualTo(Families));
        foreach (var family in Families)
        {
            var f = results["families"]![family]!;
            Assert.That(f["shots"]!.AsArray().Select(k => k!.GetValue<int>()), Is.EqualTo(new[] { 1, 4 }));
            foreach (var curve in new[] { "single", "mixed", "reference", "bayes" })
            {
                Assert.That(f[curve]!["accuracy"]!.AsArray(), Has.Count.EqualTo(2), $"{family} {curve}");
                var scores = f[curve]!["scores"]!.AsArray();
                Assert.That(scores.Select(shot => shot!.AsArray().Select(seed => seed!.AsArray().Count)), Is.All.EqualTo(new[] { 4, 4, 4 }), "[shot][seed][item]");
            }
            Assert.That(f["mixed_minus_single"]!["by_shots"]!.AsArray(), Has.Count.EqualTo(2));
            var pooled = f["mixed_minus_single"]!["pooled"]!;
            Assert.That(pooled["low"]!.GetValue<double>(), Is.LessThanOrEqualTo(pooled["estimate"]!.GetValue<double>()));
        }
        Assert.That(results["training_loss"]!.AsObject().Select(a => a.Key), Is.EqualTo(Families.Append("mixed")));
        Assert.That(results["training_loss"]!["mixed"]!.AsArray().Select(seed => seed!.AsArray().Count), Is.EqualTo(new[] { 3, 3, 3 }));
        string html = File.ReadAllText(Path.Combine(Dir(1), "report.html"));
        foreach (var chart in Families.Append("difference").Append("loss")) Assert.That(html, Does.Contain($"data-chart=\"{chart}\""));
    }

    [Test]
    public void TheSameOptionsGiveTheSameNumbers()
    {
        Assert.That(second.Exit, Is.Zero, second.Err);
        var (a, b) = (Results(1), Results(2));
        Assert.That(b["families"]!.ToJsonString(), Is.EqualTo(a["families"]!.ToJsonString()));
        Assert.That(b["training_loss"]!.ToJsonString(), Is.EqualTo(a["training_loss"]!.ToJsonString()));
    }

    [Test, Category("Browser")]
    public void TheQuickReportRendersInChromium()
    {
        ReportBrowserTests.RequireChromium();
        var (code, output) = ReportBrowserTests.CheckReport(Path.Combine(Dir(1), "report.html"), Path.Combine(Dir(1), "report.png"));
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("charts=5 bad=0"));
    }

    [TestCase("--dim", "30", "--heads", "4", ExpectedResult = "error: --heads 4 does not divide --dim 30")]
    [TestCase("--context", "16", ExpectedResult = "error: --context 16: pair-metric episodes with 1 shot(s) do not fit")]
    public string BadSizesAreOneLineErrors(params string[] flags)
    {
        var run = CliRunner.Run(["study", "meta-learners", "--quick", "--out", Path.Combine(root, "bad"), .. flags]);
        Assert.That(run.Exit, Is.EqualTo(2));
        return run.Err.TrimEnd();
    }
}
