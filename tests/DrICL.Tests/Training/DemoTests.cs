using System.Text.Json.Nodes;
using DrICL.Tests.Evaluation;
using NUnit.Framework;

namespace DrICL.Tests.Training;

/// <summary>`dricl demo` end to end at a tiny budget: trains, evaluates over k, writes the JSON and a report that renders in Chromium.</summary>
[NonParallelizable]
public class DemoTests
{
    static string output = "";
    static (int Exit, string Out, string Err) run;

    [OneTimeSetUp]
    public static void RunTinyDemo()
    {
        output = Path.Combine(Path.GetTempPath(), "dricl-demo-" + Guid.NewGuid().ToString("N"));
        run = CliRunner.Run("demo", "--out", output, "--steps", "2", "--objectives", "it,dricl", "--k", "0,1,3,100", "--seeds", "2", "--queries", "1");
    }

    [OneTimeTearDown]
    public static void Remove() => Directory.Delete(output, recursive: true);

    [Test]
    public void WritesResultsPerObjectiveWithMeanAndSpreadPerK()
    {
        Assert.That(run.Exit, Is.Zero, run.Err);
        Assert.That(run.Out, Does.Contain("report: " + Path.Combine(output, "report.html")));
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "results.json")))!;
        var objectives = results["objectives"]!.AsObject();
        Assert.That(objectives.Select(o => o.Key), Is.EqualTo(new[] { "none", "it", "dricl" }));
        foreach (var (name, curve) in objectives)
        {
            var ks = curve!["k"]!.AsArray().Select(k => k!.GetValue<int>()).ToArray();
            Assert.That(ks, Is.EqualTo(new[] { 0, 1, 3 }), $"{name}: k=100 fits no task in 512 bytes");
            Assert.That(curve["average"]!["mean"]!.AsArray(), Has.Count.EqualTo(3));
            Assert.That(curve["average"]!["spread"]!.AsArray(), Has.Count.EqualTo(3));
            Assert.That(curve["tasks"]!.AsObject(), Has.Count.EqualTo(8));
            Assert.That(curve["train_loss"]!.AsArray(), Has.Count.EqualTo(name == "none" ? 0 : 2));
        }
        Assert.That(results["meta"]!["metrics"]!["extract"]!.GetValue<string>(), Is.EqualTo("rougeL"));
    }

    [Test, Category("Browser")]
    public void ReportRendersInChromium()
    {
        ReportBrowserTests.RequireChromium();
        var html = Path.Combine(output, "report.html");
        var (code, log) = ReportBrowserTests.CheckReport(html, Path.Combine(output, "report.png"));
        Assert.That(code, Is.Zero, log);
    }
}
