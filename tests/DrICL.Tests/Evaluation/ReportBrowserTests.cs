using System.Diagnostics;
using DrICL.Training.Evaluation;
using NUnit.Framework;

namespace DrICL.Tests.Evaluation;

/// <summary>Runs scripts/check-report.sh, which renders a report in headless Chromium and checks its charts.</summary>
[Category("Browser")]
public class ReportBrowserTests
{
    const string Chromium = "/usr/bin/chromium";
    string dir = "";

    [SetUp]
    public void CreateDirectory() => dir = Directory.CreateTempSubdirectory("dricl-report-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(dir, recursive: true);

    [Test]
    public void ChartsRenderInChromium()
    {
        RequireChromium();
        string html = Path.Combine(dir, "report.html"), png = Path.Combine(dir, "report.png");
        HtmlReport.Write(html, SyntheticResults.Report(), "DrICL vs baselines (synthetic)", "Synthetic scores for the browser check.");
        var (code, output) = CheckReport(html, png);
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("charts=5 bad=0"));
        Assert.That(File.ReadAllBytes(png).Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "PNG signature");
    }

    [Test]
    public void APageWithoutChartsFails()
    {
        RequireChromium();
        string html = Path.Combine(dir, "empty.html");
        File.WriteAllText(html, "<!DOCTYPE html><html><body><p>no charts</p></body></html>");
        var (code, output) = CheckReport(html, Path.Combine(dir, "empty.png"));
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("no <svg class=\"chart\">"));
    }

    [Test]
    public void ASeriesWithAnEmptyPathFails()
    {
        RequireChromium();
        string html = Path.Combine(dir, "broken.html");
        File.WriteAllText(html, "<!DOCTYPE html><html><body><svg class=\"chart\" data-chart=\"loss\"><path data-series=\"it\" d=\"\"/></svg></body></html>");
        var (code, output) = CheckReport(html, Path.Combine(dir, "broken.png"));
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("chart loss: a series path has an empty or missing d attribute"));
    }

    [Test]
    public void AMissingBrowserIsReportedClearly()
    {
        string html = Path.Combine(dir, "report.html");
        HtmlReport.Write(html, SyntheticResults.Report(), "t", "s");
        var (code, output) = CheckReport(html, Path.Combine(dir, "report.png"), chromium: Path.Combine(dir, "no-such-chromium"));
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("chromium not found"));
    }

    internal static void RequireChromium()
    {
        if (!File.Exists(Chromium)) Assert.Ignore($"{Chromium} is not installed (Debian: apt-get install -y chromium); the browser check needs it.");
    }

    internal static (int Code, string Output) CheckReport(string html, string png, string? chromium = null)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Script());
        start.ArgumentList.Add(html);
        start.ArgumentList.Add(png);
        if (chromium is not null) start.Environment["CHROMIUM"] = chromium;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5))) { process.Kill(entireProcessTree: true); Assert.Fail("check-report.sh took over 5 minutes"); }
        return (process.ExitCode, stdout + stderr.Result);
    }

    // The script lives in the repository, above the test's output directory.
    static string Script()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "scripts", "check-report.sh");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("scripts/check-report.sh not found above " + TestContext.CurrentContext.TestDirectory);
    }
}
