using DrICL.Kernels.Cpu;
using DrICL.Training;
using NUnit.Framework;

namespace DrICL.Tests.Training;

/// <summary>The engine reproduces the golden fixtures: forwards, losses, DrICL internals, gradients, AdamW, generation.</summary>
public class ReferenceCheckTests
{
    [TestCase("tiny-llama-f32")]
    [TestCase("tiny-mistral-gqa-bf16")]
    [TestCase("tiny-llama3-scaled")]
    public void EveryExpectedTensorMatches(string fixture)
    {
        var results = ReferenceCheck.Run(Fixtures.File("models", fixture), CpuDevice.Instance).ToList();
        var failures = results.Where(r => !r.Passed).Select(r => $"{r.Name}: {r.MaxAbsDiff:E3} > {r.Allowed:E3} {r.Problem}").ToList();
        Assert.That(failures, Is.Empty);
        Assert.That(results.Select(r => r.Name), Does.Contain("grad.dricl.model.embed_tokens.weight").And.Contain("train.param.model.norm.weight").And.Contain("generate.greedy"));
    }
}
