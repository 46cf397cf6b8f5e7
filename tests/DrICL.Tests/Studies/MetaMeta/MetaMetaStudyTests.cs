using System.Text.Json.Nodes;
using DrICL.Tests.Evaluation;
using NUnit.Framework;

namespace DrICL.Tests.Studies.MetaMeta;

/// <summary>`dricl study meta-meta --quick` end to end through the CLI: 3 domains, sizes 4 and 16, 3 seeds.</summary>
public class MetaMetaStudyTests
{
    static string quickDir = "";
    static JsonObject quick = null!;

    [OneTimeSetUp]
    public void RunQuick()
    {
        quickDir = Directory.CreateTempSubdirectory("dricl-meta-meta-").FullName;
        var (exit, output, error) = CliRunner.Run("study", "meta-meta", "--quick", "--out", quickDir);
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("meta-meta - plain").And.Contain("report: ").And.Contain("data: "));
        quick = JsonNode.Parse(File.ReadAllText(Path.Combine(quickDir, "results.json")))!.AsObject();
    }

    [OneTimeTearDown]
    public void Clean() => Directory.Delete(quickDir, recursive: true);

    static void AssertInterval(JsonNode? interval, string what)
    {
        Assert.That(interval, Is.Not.Null, what);
        double low = (double)interval!["low"]!, estimate = (double)interval["estimate"]!, high = (double)interval["high"]!;
        Assert.That(low, Is.LessThanOrEqualTo(estimate).And.GreaterThanOrEqualTo(-1), what);
        Assert.That(high, Is.GreaterThanOrEqualTo(estimate).And.LessThanOrEqualTo(1), what);
    }

    [Test]
    public void ResultsHoldEveryDomainSizeAndArmWithRawScoresPerSeed()
    {
        var domains = quick["domains"]!.AsArray();
        Assert.That(domains.Select(d => (string)d!["name"]!), Is.EqualTo(new[] { "prototype/1", "feature-rule/1", "label-map/1" }));
        foreach (var domain in domains)
        {
            AssertInterval(domain!["base"], "base");
            AssertInterval(domain["initialization"], "initialization");
            Assert.That((double)domain["solver"]!, Is.InRange(0, 1));
            var baseScores = domain["base_scores"]!.AsArray();
            Assert.That(baseScores, Has.Count.EqualTo(3), "three training seeds");
            int items = baseScores[0]!.AsArray().Count;
            Assert.That(items, Is.EqualTo(2 * 4), "2 validation tasks x 4 queries");
            Assert.That(domain["solver_scores"]!.AsArray(), Has.Count.EqualTo(items));
            var sizes = domain["sizes"]!.AsArray();
            Assert.That(sizes.Select(s => (int)s!["tasks"]!), Is.EqualTo(new[] { 4, 16 }));
            foreach (var size in sizes)
            {
                foreach (var key in new[] { "plain", "meta_meta", "difference_meta_meta_minus_plain", "fine_tuning_gain_plain_minus_base" })
                    AssertInterval(size![key], $"{domain["name"]} {size["tasks"]} {key}");
                foreach (var key in new[] { "plain_scores", "meta_meta_scores" })
                {
                    var scores = size![key]!.AsArray();
                    Assert.That(scores, Has.Count.EqualTo(3), key);
                    Assert.That(scores.Select(seed => seed!.AsArray().Count), Is.All.EqualTo(items), $"{key}: both arms scored on the same items");
                    Assert.That(scores.SelectMany(seed => seed!.AsArray()).Select(x => (double)x!), Is.All.EqualTo(0).Or.EqualTo(1), key);
                }
            }
        }
        Assert.That(quick["all_domains"]!["sizes"]!.AsArray(), Has.Count.EqualTo(2));
        Assert.That(quick["base_loss"]!.AsArray().Select(run => run!.AsArray().Count), Is.All.EqualTo(4), "3 seeds x 4 base steps");
        Assert.That((int)quick["plan"]!["seeds"]!, Is.EqualTo(3));
    }

    [Test]
    public void TheReportShowsEachDomainTheDifferenceAndTheVerdict()
    {
        string html = File.ReadAllText(Path.Combine(quickDir, "report.html"));
        foreach (var chart in new[] { "all-domains", "difference", "domain-0", "domain-1", "domain-2", "base-loss" })
            Assert.That(html, Does.Contain($"data-chart=\"{chart}\""));
        Assert.That(html, Does.Contain("data-series=\"fine-tuned from base\"").And.Contain("data-series=\"fine-tuned from meta-meta init\"").And.Contain("data-series=\"optimal learner\""));
        Assert.That(html, Does.Contain("What holds at this scale").And.Contain("meta-meta minus plain"));
        Assert.That(html, Does.Contain("interval"));
    }

    [Test]
    public void TheSameOptionsGiveTheSameNumbers()
    {
        var again = Directory.CreateTempSubdirectory("dricl-meta-meta-again-").FullName;
        try
        {
            var (exit, _, error) = CliRunner.Run("study", "meta-meta", "--quick", "--out", again);
            Assert.That(exit, Is.Zero, error);
            var second = JsonNode.Parse(File.ReadAllText(Path.Combine(again, "results.json")))!.AsObject();
            quick.Remove("seconds");
            second.Remove("seconds");
            Assert.That(second.ToJsonString(), Is.EqualTo(quick.ToJsonString()));
        }
        finally { Directory.Delete(again, recursive: true); }
    }

    [Test]
    public void BadModelFlagsAreAOneLineError()
    {
        var dir = Directory.CreateTempSubdirectory("dricl-meta-meta-bad-").FullName;
        try
        {
            var (exit, _, error) = CliRunner.Run("study", "meta-meta", "--quick", "--dim", "30", "--heads", "4", "--out", dir);
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(error.Trim(), Is.EqualTo("error: --heads 4 does not divide --dim 30"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test, Category("Browser")]
    public void TheQuickReportRendersInChromium()
    {
        ReportBrowserTests.RequireChromium();
        var (code, output) = ReportBrowserTests.CheckReport(Path.Combine(quickDir, "report.html"), Path.Combine(quickDir, "report.png"));
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("charts=6 bad=0"));
    }
}
