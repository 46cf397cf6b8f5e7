using System.Text.RegularExpressions;
using DrICL.Training.Evaluation;
using NUnit.Framework;

namespace DrICL.Tests.Evaluation;

public class HtmlReportTests
{
    static readonly string[] Objectives = ["none", "it", "metaicl", "dricl"];

    [Test]
    public void HasALossChartAnAverageChartAndOneChartPerTask()
    {
        string html = HtmlReport.Render(SyntheticResults.Report(), "DrICL vs baselines", "Summary.");
        Assert.That(Regex.Count(html, "<svg class=\"chart\""), Is.EqualTo(5));
        Assert.That(html, Does.Contain("<svg class=\"chart\" data-chart=\"loss\""));
        Assert.That(html, Does.Contain("<svg class=\"chart\" data-chart=\"average\""));
        foreach (var task in new[] { "sst2", "cosmos_qa", "xsum" })
            Assert.That(html, Does.Contain($"<svg class=\"chart\" data-chart=\"task\" data-task=\"{task}\""));
        Assert.That(html, Does.Contain(">rougeL</text>"), "the metric from meta labels the task's y axis");
    }

    [Test]
    public void EverySeriesIsANonEmptyPathWithItsObjectiveName()
    {
        string html = HtmlReport.Render(SyntheticResults.Report(), "t", "s");
        var paths = Regex.Matches(html, "<path data-series=\"([^\"]*)\" d=\"([^\"]*)\"");
        // Score charts (average + 3 tasks) carry all four objectives; the loss chart the three trained ones.
        Assert.That(paths, Has.Count.EqualTo(4 * 4 + 3));
        Assert.That(paths.Select(m => m.Groups[1].Value).Distinct(), Is.EquivalentTo(Objectives));
        foreach (Match path in paths)
            Assert.That(path.Groups[2].Value, Does.Match(@"^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+)+$"), path.Groups[1].Value);
        // A score line has one vertex per k; a loss line one per recorded step.
        var average = Regex.Match(html, "data-chart=\"average\".*?</svg>", RegexOptions.Singleline).Value;
        var dricl = Regex.Match(average, "data-series=\"dricl\" d=\"([^\"]*)\"").Groups[1].Value;
        Assert.That(dricl.Count(c => c is 'M' or 'L'), Is.EqualTo(SyntheticResults.Ks.Length));
        var loss = paths.First(m => m.Groups[1].Value == "dricl").Groups[2].Value;
        Assert.That(loss.Count(c => c is 'M' or 'L'), Is.EqualTo(61));
        Assert.That(html, Does.Contain("<path data-spread=\"dricl\""), "error bars");
        foreach (var k in SyntheticResults.Ks) Assert.That(html, Does.Contain($"text-anchor=\"middle\">{k}</text>"), "k tick label");
    }

    [Test]
    public void ResultsTableHasAColumnPerTaskAndARowPerObjectiveAndK()
    {
        var report = SyntheticResults.Report();
        string html = HtmlReport.Render(report, "t", "s");
        var table = Regex.Match(html, "<table class=\"results\">.*?</table>", RegexOptions.Singleline).Value;
        Assert.That(table, Does.Contain("<th>objective</th><th>k</th><th>cosmos_qa</th><th>sst2</th><th>xsum</th><th>average</th>"));
        Assert.That(Regex.Count(table, "<tr"), Is.EqualTo(1 + Objectives.Length * SyntheticResults.Ks.Length));
        var average = report.Objectives["dricl"].Average;
        Assert.That(table, Does.Contain($"{average.Mean[4]:F3} ± {average.Spread[4]:F3}"));
        Assert.That(html, Does.Contain("<table class=\"stability\">"));
    }

    [Test]
    public void EscapesTextAndNeedsNothingExternal()
    {
        const string task = "<script>alert(1)</script>";
        var report = SyntheticResults.Report(task, "a&b");
        string html = HtmlReport.Render(report, "Title <b>bold</b>", "\"quoted\" & <i>summary</i>");
        Assert.That(html, Does.Not.Contain("<script"));
        Assert.That(html, Does.Not.Contain("<b>bold"));
        Assert.That(html, Does.Contain("data-task=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
        Assert.That(html, Does.Contain("<th>&lt;script&gt;alert(1)&lt;/script&gt;</th>"));
        Assert.That(html, Does.Contain("<th>a&amp;b</th>"));
        Assert.That(html, Does.Contain("&quot;quoted&quot; &amp; &lt;i&gt;summary&lt;/i&gt;"));
        Assert.That(html, Does.Not.Match("(?i)https?://|<link|<img|src="), "no external resources");
    }

    [Test]
    public void WithoutTrainingLossTheLossChartIsReplacedByANote()
    {
        var results = new KShotResults();
        results.AddScore("none", "a", 0, 0.4);
        results.AddScore("none", "a", 4, 0.6);
        string html = HtmlReport.Render(results.Summarize(), "t", "s");
        Assert.That(html, Does.Not.Contain("data-chart=\"loss\""));
        Assert.That(html, Does.Contain("No training loss was recorded."));
        Assert.That(html, Does.Contain("<path data-series=\"none\" d=\"M"));
    }
}
