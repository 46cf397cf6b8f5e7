using DrICL.Tests.Evaluation;
using DrICL.Training.Profiling;
using NUnit.Framework;

namespace DrICL.Tests.Profiling;

/// <summary>`dricl profile`'s table and page from a hand-written trace whose figures are worked out by hand.</summary>
public class ProfileSummaryTests
{
    string dir = "";

    [SetUp]
    public void CreateDirectory() => dir = Directory.CreateTempSubdirectory("dricl-profile-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(dir, recursive: true);

    // Peaks 100 GFLOP/s and 10 GB/s. One 100 µs step: forward › layer 0 › attention holds two MatMuls
    // (1e6 FLOPs and 1e4 bytes in 20 µs, 2e6 and 1e4 in 40 µs), mlp a 20 µs Copy of 1e5 bytes; 10 µs of optimizer.
    const string Trace = """
        {"traceEvents":[
        {"name":"process_name","ph":"M","pid":1,"tid":1,"args":{"name":"dricl"}},
        {"name":"step 1","cat":"range","ph":"X","ts":0,"dur":100,"pid":1,"tid":1},
        {"name":"forward","cat":"range","ph":"X","ts":0,"dur":85,"pid":1,"tid":1},
        {"name":"layer 0","cat":"range","ph":"X","ts":0,"dur":85,"pid":1,"tid":1},
        {"name":"attention","cat":"range","ph":"X","ts":0,"dur":62,"pid":1,"tid":1},
        {"name":"MatMul","cat":"op","ph":"X","ts":1,"dur":20,"pid":1,"tid":1,"args":{"shapes":"a [10,10]","flops":1000000,"bytes":10000}},
        {"name":"MatMul","cat":"op","ph":"X","ts":21,"dur":40,"pid":1,"tid":1,"args":{"shapes":"a [20,10]","flops":2000000,"bytes":10000}},
        {"name":"mlp","cat":"range","ph":"X","ts":62,"dur":23,"pid":1,"tid":1},
        {"name":"Copy","cat":"op","ph":"X","ts":63,"dur":20,"pid":1,"tid":1,"args":{"shapes":"src [5]","flops":0,"bytes":100000}},
        {"name":"optimizer","cat":"range","ph":"X","ts":88,"dur":10,"pid":1,"tid":1}
        ],"displayTimeUnit":"ms","otherData":{"device":"cpu","timer":"host wall clock","command":"test",
        "peak_gflop_per_s":100,"peak_gb_per_s":10,"peak_compute":"fma","peak_memory":"triad"}}
        """;

    ProfileSummary Summary()
    {
        string path = Path.Combine(dir, "trace.json");
        File.WriteAllText(path, Trace);
        return ProfileSummary.Of(ProfileTrace.Read(path));
    }

    [Test]
    public void TheTableMatchesHandFigures()
    {
        var s = Summary();
        Assert.That((s.Steps, s.StepMs, s.OpMs), Is.EqualTo((1, 0.1, 0.08)));
        var matmul = s.Ops.Single(o => o.Op == "MatMul");
        Assert.That(matmul.Calls, Is.EqualTo(2));
        Assert.That(matmul.TotalMs, Is.EqualTo(0.06).Within(1e-12));
        Assert.That(matmul.PercentOfStep, Is.EqualTo(60).Within(1e-9));
        Assert.That(matmul.GflopPerS, Is.EqualTo(50).Within(1e-9));           // 3e6 FLOPs in 60 µs
        Assert.That(matmul.GbPerS, Is.EqualTo(2e4 / 60e-6 / 1e9).Within(1e-9));
        Assert.That(matmul.Intensity, Is.EqualTo(150).Within(1e-9));
        Assert.That(matmul.PercentOfRoof, Is.EqualTo(50).Within(1e-9));       // bounds 10 µs + 20 µs (compute) of 60 µs
        var copy = s.Ops.Single(o => o.Op == "Copy");
        Assert.That(copy.PercentOfRoof, Is.EqualTo(50).Within(1e-9));         // 1e5 bytes at 10 GB/s: 10 µs of 20
        Assert.That(s.Ops[0].Op, Is.EqualTo("MatMul"), "rows are ordered by time");
        Assert.That(s.Points.Select(p => (p.Op, p.Shapes)), Is.EquivalentTo(new[] { ("MatMul", "a [20,10]"), ("MatMul", "a [10,10]") }), "ops without FLOPs are not dots");
        Assert.That(s.Parts, Is.EquivalentTo(new[]
        {
            new ModelPart(0, "attention", "forward", 0.062), new ModelPart(0, "mlp", "forward", 0.023), new ModelPart(null, "optimizer", "", 0.01),
        }));
        Assert.That(s.Table(), Does.Contain("peaks: 100.0 GFLOP/s (fma); 10.0 GB/s (triad); ridge 10.0 FLOP/B"));
        Assert.That(s.Table(), Does.Contain("1 steps, 0.1 ms (0.1 ms a step); ops cover 80.0% of it"));
    }

    [Test]
    public void WarmUpStepsCanBeLeftOut()
    {
        // Step 1 (100 µs, a 80 µs MatMul) is 5x step 2 (20 µs, a 10 µs MatMul).
        string path = Path.Combine(dir, "two-steps.json");
        File.WriteAllText(path, """
            {"traceEvents":[
            {"name":"step 1","cat":"range","ph":"X","ts":0,"dur":100,"pid":1,"tid":1},
            {"name":"MatMul","cat":"op","ph":"X","ts":10,"dur":80,"pid":1,"tid":1,"args":{"flops":1000,"bytes":100}},
            {"name":"step 2","cat":"range","ph":"X","ts":100,"dur":20,"pid":1,"tid":1},
            {"name":"MatMul","cat":"op","ph":"X","ts":101,"dur":10,"pid":1,"tid":1,"args":{"flops":1000,"bytes":100}}]}
            """);
        var trace = ProfileTrace.Read(path);
        var all = ProfileSummary.Of(trace);
        Assert.That(all.Table(), Does.Contain("step 1 took 0.1 ms, 5.0x the median of the others (JIT warm-up): --skip-steps 1 leaves it out"));
        Assert.That(all.Ops.Single().Calls, Is.EqualTo(2));
        var warm = ProfileSummary.Of(trace, skipSteps: 1);
        Assert.That((warm.Steps, warm.StepMs, warm.Ops.Single().Calls, warm.Ops.Single().TotalMs), Is.EqualTo((1, 0.02, 1, 0.01)));
        Assert.That(warm.Table(), Does.Contain("1 steps after 1 skipped").And.Not.Contain("JIT warm-up"));
        Assert.That(() => ProfileSummary.Of(trace, skipSteps: 2), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void ThePageDrawsTheRooflineAndTheLayers()
    {
        string html = RooflinePage.Render(Summary(), "test");
        Assert.That(html, Does.Contain("data-chart=\"roofline\"").And.Contain("data-series=\"roof\"").And.Contain("data-series=\"MatMul\""));
        Assert.That(html, Does.Contain("data-chart=\"layers\"").And.Contain("data-series=\"attention forward\""));
        Assert.That(html, Does.Not.Contain("<script").And.Not.Contain("http"), "self-contained");
    }

    [Test]
    [Category("Browser")]
    public void ThePageRendersInChromium()
    {
        ReportBrowserTests.RequireChromium();
        string html = Path.Combine(dir, "profile.html"), png = Path.Combine(dir, "profile.png");
        RooflinePage.Write(html, Summary(), "test");
        var (code, output) = ReportBrowserTests.CheckReport(html, png);
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("charts=2 bad=0 kinds: roofline layers"));
    }

    [Test]
    public void ANonJsonFileIsReportedWithItsName()
    {
        string path = Path.Combine(dir, "bad.json");
        File.WriteAllText(path, "not json");
        Assert.That(() => ProfileTrace.Read(path), Throws.InstanceOf<InvalidDataException>().With.Message.StartsWith(path + ": not a JSON trace"));
        File.WriteAllText(path, """{"traceEvents":[{"name":"x","ph":"X","ts":"soon","dur":1}]}""");
        Assert.That(() => ProfileTrace.Read(path), Throws.InstanceOf<InvalidDataException>().With.Message.EqualTo(path + ": event 1 has ph \"X\" but not a string name and numeric ts and dur"));
    }
}
