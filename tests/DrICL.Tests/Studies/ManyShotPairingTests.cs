using DrICL.Kernels.Cpu;
using DrICL.Training.Studies;
using DrICL.Training.Studies.ManyShot;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Studies;

/// <summary>The many-shot study's comparisons are paired by construction: one seed gives every arm the same weights, batches and items.</summary>
public class ManyShotPairingTests
{
    static readonly SyntheticSuite Suite = new(AnswerChoices.Families(new SyntheticSuite()));

    [Test]
    public void ArmsOfOneSeedStartFromTheSameWeightsAndSeeTheSameBatches()
    {
        var seeds = TrainingSeed.For(14, 2);
        SeedSetup Setup(int s) => new(seeds[s], ManyShotPlan.QuickModel, CpuDevice.Instance, Suite, rows: 2);
        var (a, b, other) = (Setup(0), Setup(0), Setup(1));
        var (wa, wb, wo) = (a.NewModel().Parameters, b.NewModel().Parameters, other.NewModel().Parameters);
        for (int p = 0; p < wa.Count; p++) Assert.That(wa[p].Value.Value.ToArray(), Is.EqualTo(wb[p].Value.Value.ToArray()), wa[p].Name);
        Assert.That(wo[0].Value.Value.ToArray(), Is.Not.EqualTo(wa[0].Value.Value.ToArray()), "another seed, another initialization");
        foreach (long position in new long[] { 0, 7 })
        {
            Assert.That(b.Batch(position).InputIds, Is.EqualTo(a.Batch(position).InputIds));
            Assert.That(b.Batch(position).Labels, Is.EqualTo(a.Batch(position).Labels));
        }
        Assert.That(other.Batch(0).InputIds, Is.Not.EqualTo(a.Batch(0).InputIds), "another seed, other data");
    }

    [Test]
    public void ItemsDependOnlyOnTheSeedAndItemIndexes()
    {
        var families = Suite.Families;
        var small = EvaluationSet.Build(families, [0, 5], seeds: 2, items: 4, context: 256);
        var large = EvaluationSet.Build(families, [0, 5, 20], seeds: 3, items: 8, context: 256);
        for (int f = 0; f < families.Count; f++)
            for (int k = 0; k < 2; k++)
                for (int s = 0; s < 2; s++)
                    for (int i = 0; i < 4; i++)
                        Assert.That(large.Families[f].Episodes[k][s][i].InputIds, Is.EqualTo(small.Families[f].Episodes[k][s][i].InputIds), $"{families[f].Name} k index {k} seed {s} item {i}");
        Assert.That(large.Families[0].Episodes[1][1][0].InputIds, Is.Not.EqualTo(large.Families[0].Episodes[1][0][0].InputIds), "seeds pose different items");
    }

    [Test]
    public void EveryAnswerOfTheStudiedFamiliesIsOneOfItsChoices()
    {
        foreach (var family in Suite.Families)
        {
            var choices = AnswerChoices.Tokens(family.Name);
            for (int seed = 0; seed < 50; seed++)
            {
                var task = SyntheticSuite.EvaluationTask(family, 10, seed);
                foreach (var example in task.Task.Examples.Concat(task.Queries))
                    Assert.That(choices, Does.Contain(AnswerChoices.Token(example.Output.Single())), $"{family.Name}: {example.Output}");
            }
        }
    }

    [Test]
    public void TheSolverGetsMoreAccurateWithMoreShots()
    {
        var items = EvaluationSet.Build(Suite.Families, [0, 5, 50], seeds: 3, items: 16, context: 1024);
        var solver = SolverScores.Compute(items);
        for (int f = 0; f < items.Families.Count; f++)
        {
            var mean = solver.Scores[f].Select(atK => atK.SelectMany(seed => seed).Average()).ToArray();
            Assert.That(mean[2], Is.GreaterThan(mean[0]), $"{items.Families[f].Family.Name}: k=0 {mean[0]}, k=50 {mean[2]}");
            Assert.That(mean[2], Is.GreaterThanOrEqualTo(mean[1]), $"{items.Families[f].Family.Name}: k=5 {mean[1]}, k=50 {mean[2]}");
        }
    }

    [Test]
    public void TheScoreIsWhetherTheRightAnswerHasTheHighestLogitAmongTheChoices()
    {
        var model = new SeedSetup(TrainingSeed.For(3, 1)[0], ManyShotPlan.QuickModel, CpuDevice.Instance, Suite, rows: 1).NewModel();
        var family = Suite.Families[0];
        var items = EvaluationSet.Build([family], [5], seeds: 1, items: 4, context: 256);
        var episode = items.Families[0].Episodes[0][0][0];
        int at = episode.Query.TokenStart - 1;
        var logits = model.Forward(DrICL.Model.Autograd.Tape.NoGrad(CpuDevice.Instance), episode.InputIds, episode.PositionIds, 1, episode.Length).Value.ToArray();
        var choices = AnswerChoices.Tokens(family.Name);
        int best = choices.MaxBy(c => logits[at * model.Config.VocabSize + c]);
        foreach (int c in choices)
            Assert.That(ChoiceScorer.Score(model, episode, choices, c), Is.EqualTo(c == best ? 1 : 0), $"choice {c}, best {best}");
    }
}
