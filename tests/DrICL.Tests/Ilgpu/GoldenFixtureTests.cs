using DrICL.Kernels;
using DrICL.Training;
using NUnit.Framework;

namespace DrICL.Tests.Ilgpu;

/// <summary>
/// The golden fixtures through the whole engine on IlgpuDevice (a CUDA GPU when ILGPU finds one, else ILGPU's
/// CPU accelerator): forward, every objective's loss and gradients, AdamW steps and greedy generation. fp32 is
/// held to the fixture's own tolerances; bf16 (tensor-core attention, bf16 GEMM inputs) to the bf16 profile.
/// On the CPU accelerator each fixture takes minutes, hence an explicit category of its own (see README, Tests).
/// </summary>
[Category("GpuFixtures")]
[Explicit("minutes per fixture on ILGPU's CPU accelerator: run with --filter TestCategory=GpuFixtures")]
[NonParallelizable]
public class GoldenFixtureTests
{
    /// <summary>
    /// The two cases CI runs on the CPU accelerator (about 4 minutes each on 2 cores): GQA with a sliding window on
    /// the fp32 kernels, and the bf16 tensor-core path. The rest run where a GPU makes them cheap (gpu-session.sh).
    /// </summary>
    public const string CiCategory = "GpuFixturesCi";

    [TestCase("tiny-llama-f32", ComputePrecision.Fp32)]
    [TestCase("tiny-mistral-gqa-bf16", ComputePrecision.Fp32, Category = CiCategory)]
    [TestCase("tiny-llama3-scaled", ComputePrecision.Fp32)]
    [TestCase("tiny-llama-f32", ComputePrecision.Bf16, Category = CiCategory)]
    [TestCase("tiny-mistral-gqa-bf16", ComputePrecision.Bf16)]
    [TestCase("tiny-llama3-scaled", ComputePrecision.Bf16)]
    public void FixturePasses(string fixture, ComputePrecision precision)
    {
        using var gpu = IlgpuParityTests.OpenDevice(precision);
        var dir = Fixtures.File("models", fixture);
        var profile = ToleranceProfile.For(gpu, ReferenceCheck.LoadCase(dir));
        Assert.That(profile.Name, Is.EqualTo(precision == ComputePrecision.Bf16 ? "bf16" : "fixture"));
        var results = ReferenceCheck.Run(dir, gpu).ToList();
        var failures = results.Where(r => !r.Passed).Select(r => $"{r.Name}: {r.MaxAbsDiff:E3} > {r.Allowed:E3} {r.Problem}").ToList();
        Assert.That(failures, Is.Empty);
        Assert.That(results, Has.Count.GreaterThan(50));
        var notCompared = results.Where(r => r.NotCompared is not null).Select(r => r.Name);
        Assert.That(notCompared, precision == ComputePrecision.Bf16 ? Is.EqualTo(new[] { "generate.greedy" }) : Is.Empty);
    }
}
