using DrICL.Kernels.Cpu;
using DrICL.Training;
using NUnit.Framework;

namespace DrICL.Tests.Training;

/// <summary>The reference check notices a wrong semantics: a changed hyperparameter must fail exactly the tensors it affects.</summary>
public class ReferenceCheckFailureTests
{
    [Test]
    public void ChangedDrIclAlphaFailsTheDrIclLossButNotTheLogits()
    {
        var dir = Path.Combine(Path.GetTempPath(), "dricl-refcheck-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            foreach (var f in Directory.GetFiles(Fixtures.File("models", "tiny-llama-f32")))
                File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var casePath = Path.Combine(dir, "case.json");
            File.WriteAllText(casePath, File.ReadAllText(casePath).Replace("\"alpha\": 0.2", "\"alpha\": 0.5"));

            var results = ReferenceCheck.Run(dir, CpuDevice.Instance).ToDictionary(r => r.Name);
            Assert.That(results["loss.dricl"].Passed, Is.False);
            Assert.That(results["grad.dricl.lm_head.weight"].Passed, Is.False);
            Assert.That(results["logits"].Passed, Is.True);
            Assert.That(results["loss.it"].Passed, Is.True);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
