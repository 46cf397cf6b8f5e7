using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Training;
using DrICL.Training.Objectives;
using NUnit.Framework;

namespace DrICL.Tests.Training;

/// <summary>
/// Whole-model gradients against central finite differences, on configurations the golden fixtures do not
/// cover: multi-query attention, tied embeddings, a short sliding window, prefix visibility first/none and
/// a sampled baseline window.
/// </summary>
public class ModelGradientTests
{
    static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new InstructionTuning(), false, 4, null).SetName("IT, MHA, untied");
        yield return new TestCaseData(new MetaIcl(), true, 1, 5).SetName("MetaICL, MQA, tied, window 5");
        yield return new TestCaseData(new DrIcl(new DrIclOptions(0.3f, 2f, 2, 1, PrefixVisibility.None)), true, 1, 4).SetName("DrICL, MQA, tied, window 4, prefix none, sample 1");
        yield return new TestCaseData(new DrIcl(new DrIclOptions(0.2f, 1f, 3, null, PrefixVisibility.First)), false, 2, null).SetName("DrICL, GQA, prefix first");
    }

    [TestCaseSource(nameof(Cases))]
    public void GradientsMatchFiniteDifferences(IObjective objective, bool tied, int kvHeads, int? window)
    {
        var model = TinyModels.Model(tied, kvHeads, window, seed: 7);
        var batch = TinyModels.Batch(seed: 3);
        model.ZeroGrad();
        var frozen = objective.Run(model, batch, backward: true);
        var rng = new Random(11);
        int checkedCount = 0;
        foreach (var (name, p) in model.Parameters)
        {
            var grad = p.Grad!.ToArray();
            var values = p.Value.Span;
            for (int probe = 0; probe < 3; probe++)
            {
                int i = rng.Next(values.Length);
                float saved = values[i];
                const float h = 2e-3f;
                values[i] = saved + h;
                double up = Surrogate(objective, frozen, objective.Run(model, batch, backward: false));
                values[i] = saved - h;
                double down = Surrogate(objective, frozen, objective.Run(model, batch, backward: false));
                values[i] = saved;
                double numeric = (up - down) / (2 * h);
                Assert.That(grad[i], Is.EqualTo(numeric).Within(2e-3 + 0.03 * Math.Abs(numeric)), $"{name}[{i}]");
                checkedCount++;
            }
        }
        Assert.That(checkedCount, Is.GreaterThan(40));
    }

    /// <summary>
    /// The loss with DrICL's advantages frozen at their unperturbed values (they are stop-gradient constants),
    /// rebuilt from the per-demonstration losses; other objectives' losses are used as they are.
    /// </summary>
    static double Surrogate(IObjective objective, LossReport frozen, LossReport now)
    {
        if (objective is not DrIcl dricl) return now.Loss;
        var advantage = frozen.Details["dricl.advantage"];
        var demoLoss = now.Details["dricl.demo_loss"];
        var zero = now.Details["dricl.zero"];
        int b = zero.Length, kMax = advantage.Length / b;
        float a = dricl.Options.Alpha;
        double loss = 0;
        for (int s = 0; s < b; s++)
        {
            double many = 0; int k = 0;
            for (; k < kMax && advantage[s * kMax + k] != 0; k++) many += advantage[s * kMax + k] * demoLoss[s * kMax + k];
            loss += 0.5 * ((1 + a) * many / k + (1 - a) * zero[s]) / b;
        }
        return loss;
    }
}
