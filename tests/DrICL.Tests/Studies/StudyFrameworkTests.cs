using System.Text.Json.Nodes;
using DrICL.Model;
using DrICL.Tests.Evaluation;
using DrICL.Training.Studies;
using NUnit.Framework;

namespace DrICL.Tests.Studies;

public class StudyFrameworkTests
{
    static readonly ModelConfig Defaults = new(vocabSize: 259, hiddenSize: 64, intermediateSize: 192, layers: 2, heads: 4, maxPositionEmbeddings: 256);

    [Test]
    public void SizeFlagsReplaceTheStudysModel()
    {
        var config = new StudyOptions { Dim = 96, Heads = 6, Layers = 3, Context = 1024 }.Model(Defaults);
        Assert.That((config.HiddenSize, config.IntermediateSize, config.Heads, config.Layers, config.MaxPositionEmbeddings, config.VocabSize),
            Is.EqualTo((96, 288, 6, 3, 1024, 259)));
        Assert.That(new StudyOptions().Model(Defaults).IntermediateSize, Is.EqualTo(192), "no flags, the study's own model");
        Assert.That(() => new StudyOptions { Heads = 5 }.Model(Defaults), Throws.ArgumentException.With.Message.EqualTo("--heads 5 does not divide --dim 64"));
    }

    [Test]
    public void TheBudgetScalesStepsLinearly()
    {
        Assert.That(new StudyOptions().ScaleSteps(300, defaultMinutes: 10), Is.EqualTo(300));
        Assert.That(new StudyOptions { BudgetMinutes = 30 }.ScaleSteps(300, 10), Is.EqualTo(900));
        Assert.That(new StudyOptions { BudgetMinutes = 0.1 }.ScaleSteps(3, 10), Is.EqualTo(1));
    }

    [Test]
    public void TrainingSeedsDependOnTheIndexOnly()
    {
        var seeds = TrainingSeed.For(1, 3);
        Assert.That(TrainingSeed.For(1, 5)[..3], Is.EqualTo(seeds), "more seeds extend the list");
        Assert.That(seeds.Select(s => s.Model).Concat(seeds.Select(s => s.Data)).Distinct().Count(), Is.EqualTo(6));
        Assert.That(TrainingSeed.For(2, 3)[0], Is.Not.EqualTo(seeds[0]));
    }

    internal static StudyPage SamplePage()
    {
        var page = new StudyPage("A study <page>").Paragraph("What ran.\n\nWhat holds.");
        page.Chart("curve", "Score against k", "k", "accuracy",
        [
            new StudySeries("it", [StudyPoint.Of(0, new Interval(0.3, 0.25, 0.35)), StudyPoint.Of(20, new Interval(0.6, 0.5, 0.7))]),
            new StudySeries("solver", [new StudyPoint(0, 0.5), new StudyPoint(20, 0.95)], Dashed: true),
        ], categoricalX: true);
        page.Chart("loss", "Training loss", "step", "loss", [new StudySeries("it", [new StudyPoint(1, 3), new StudyPoint(2, 2.5)])]);
        page.Table(["arm", "k=20"], [["it", "0.600 [0.500, 0.700]"]]).Meta(new JsonObject { ["steps"] = 2 });
        return page;
    }

    [Test]
    public void APageHoldsItsChartsTablesAndSettings()
    {
        string html = SamplePage().Render();
        Assert.That(html, Does.Contain("<h1>A study &lt;page&gt;</h1>"));
        Assert.That(html, Does.Contain("data-chart=\"curve\"").And.Contain("data-chart=\"loss\""));
        Assert.That(html, Does.Contain("data-series=\"solver\"").And.Contain("stroke-dasharray"));
        Assert.That(html, Does.Contain("data-spread=\"it\""), "interval bars");
        Assert.That(html, Does.Contain("#0072b2\"></span>it</td>"), "the arm's swatch in the table");
        Assert.That(html.Split("<div class=\"charts\">").Length - 1, Is.EqualTo(1), "consecutive charts share a row");
        Assert.That(html, Does.Not.Contain("<script").And.Not.Contain("http"));
        Assert.That(() => SamplePage().Chart("curve", "again", "x", "y", [new StudySeries("it", [new StudyPoint(0, 1)])]), Throws.ArgumentException);
    }

    [Test, Category("Browser")]
    public void APageRendersInChromium()
    {
        ReportBrowserTests.RequireChromium();
        var dir = Directory.CreateTempSubdirectory("dricl-study-page-").FullName;
        try
        {
            string html = Path.Combine(dir, "report.html");
            SamplePage().Write(html);
            var (code, output) = ReportBrowserTests.CheckReport(html, Path.Combine(dir, "report.png"));
            Assert.That(code, Is.Zero, output);
            Assert.That(output, Does.Contain("charts=2 bad=0"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
