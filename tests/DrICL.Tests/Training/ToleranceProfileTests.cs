using DrICL.Kernels.Cpu;
using DrICL.Training;
using NUnit.Framework;

namespace DrICL.Tests.Training;

/// <summary>Which tolerances a reference check applies, and the bf16 rule's arithmetic.</summary>
public class ToleranceProfileTests
{
    static ReferenceCase Case => ReferenceCheck.LoadCase(Fixtures.File("models", "tiny-llama-f32"));

    [Test]
    public void TheCpuUsesTheFixtureTolerancesUnchanged()
    {
        var profile = ToleranceProfile.For(CpuDevice.Instance, Case);
        var t = Case.Tolerances;
        Assert.That(profile.Name, Is.EqualTo("fixture"));
        Assert.That(profile.Allowed(CheckedKind.Activation, 0.5), Is.EqualTo(t.Logits));
        Assert.That(profile.Allowed(CheckedKind.Activation, 30), Is.EqualTo(t.Logits * 30).Within(1e-15));
        Assert.That(profile.Allowed(CheckedKind.Loss, 4), Is.EqualTo(t.Loss * 4).Within(1e-15));
        Assert.That(profile.Allowed(CheckedKind.Gradient, 1e-3), Is.EqualTo(t.Grad));
        Assert.That(profile.Allowed(CheckedKind.Parameter, 1.2), Is.EqualTo(t.Param * 1.2).Within(1e-15));
        Assert.That(profile.Allowed(CheckedKind.Generated, 100), Is.EqualTo(0));
        Assert.That(profile.Allowed(CheckedKind.Exact, 100), Is.EqualTo(0));
    }

    [Test]
    public void Bf16WidensEachRuleToWhatBf16RoundingExplains()
    {
        var profile = ToleranceProfile.Bf16(Case);
        Assert.That(profile.Name, Is.EqualTo("bf16"));
        Assert.That(profile.Allowed(CheckedKind.Activation, 30), Is.EqualTo(30.0 / 64));
        Assert.That(profile.Allowed(CheckedKind.Loss, 5), Is.EqualTo(5.0 / 64));
        Assert.That(profile.Allowed(CheckedKind.Gradient, 0.01), Is.EqualTo(0.01 / 16));
        // AdamW moves a parameter at most lr per step: 2 * 1e-3 * 3 steps.
        Assert.That(profile.Allowed(CheckedKind.Parameter, 0.05), Is.EqualTo(6e-3).Within(1e-9)); // lr is a float
        Assert.That(profile.Allowed(CheckedKind.Parameter, 1.0), Is.EqualTo(1.0 / 64), "norm weights near 1 get the relative rule");
        Assert.That(profile.Allowed(CheckedKind.Generated, 100), Is.Null);
        Assert.That(profile.Allowed(CheckedKind.Exact, 100), Is.EqualTo(0), "the prompt is read back, not computed");
    }

    [Test]
    public void Bf16IsNeverTighterThanTheFixture()
    {
        var fixture = ToleranceProfile.Fixture(Case);
        var bf16 = ToleranceProfile.Bf16(Case);
        foreach (var kind in new[] { CheckedKind.Activation, CheckedKind.Loss, CheckedKind.Gradient, CheckedKind.Parameter })
            foreach (var maxAbs in new[] { 0.0, 1e-6, 1e-3, 0.5, 1, 7, 1e4 })
                Assert.That(bf16.Allowed(kind, maxAbs), Is.GreaterThanOrEqualTo(fixture.Allowed(kind, maxAbs)!.Value), $"{kind} at {maxAbs}");
    }

    [Test]
    public void TheProfileSaysWhatItApplies()
    {
        Assert.That(ToleranceProfile.Fixture(Case).ToString(), Does.StartWith("tolerance profile fixture: case.json's logits 0.0001"));
        Assert.That(ToleranceProfile.Bf16(Case).ToString(), Does.StartWith("tolerance profile bf16:").And.Contain("0.0156").And.Contain("0.0625").And.Contain("greedy tokens not compared"));
    }

    [Test]
    public void AnUncomparedTensorPassesAndSaysWhy()
    {
        var r = new CheckResult("generate.greedy", 3, double.NaN, NotCompared: "Generated not compared under the bf16 profile");
        Assert.That(r.Passed, Is.True);
        Assert.That(new CheckResult("x", 1, 0.5).Passed, Is.False);
        Assert.That(new CheckResult("x", double.NaN, 0, "not produced").Passed, Is.False);
    }

    [Test]
    public void CheckReferencePrintsTheProfile()
    {
        var (exit, output, _) = DrICL.Tests.CliRunner.Run("check-reference", Fixtures.File("models", "tiny-llama-f32"));
        Assert.That(exit, Is.EqualTo(0));
        Assert.That(output, Does.StartWith("tolerance profile fixture:").And.Contain("tensors match (cpu, fixture tolerances)"));
    }
}
