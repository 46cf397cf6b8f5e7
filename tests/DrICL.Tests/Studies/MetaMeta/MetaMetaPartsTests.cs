using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Training;
using DrICL.Model;
using DrICL.Training.Objectives;
using DrICL.Training.Studies;
using DrICL.Training.Studies.MetaMeta;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Studies.MetaMeta;

/// <summary>The meta-meta study's parts: its data, its scorer, its weight copies and its Reptile update.</summary>
public class MetaMetaPartsTests
{
    static readonly IDevice Cpu = CpuDevice.Instance;
    static readonly ModelConfig Tiny = MetaMetaPlan.QuickModel;
    static readonly MetaMetaDomain Labels = MetaMetaPlan.DefaultDomains.Single(d => d.Family is LabelMapFamily);

    static IEnumerable<TestCaseData> Domains() =>
        MetaMetaPlan.DefaultDomains.Select(domain => new TestCaseData(domain).SetArgDisplayNames(domain.Name));

    /// <summary>
    /// The reference the report draws: each domain's optimal learner on its validation items gets more accurate with
    /// more shots (1 against the default plan's 8, 50 tasks x 4 queries).
    /// </summary>
    [TestCaseSource(nameof(Domains))]
    public void TheOptimalLearnerOfADomainGainsFromShots(MetaMetaDomain domain)
    {
        double Accuracy(int shots) => domain.ValidationItems(50, shots)
            .Average(item => domain.Family.Solve(item.Demonstrations, item.Query.Input) == item.Query.Output ? 1.0 : 0.0);
        double one = Accuracy(1), eight = Accuracy(8);
        Assert.That(eight, Is.GreaterThan(one + 0.1), $"1 shot {one:F3}, 8 shots {eight:F3}");
        Assert.That(domain.Labels.Count, Is.GreaterThanOrEqualTo(2));
        Assert.That(domain.ValidationItems(50, 8).Select(item => item.Query.Output).Distinct(), Is.SubsetOf(domain.Labels));
    }

    [Test]
    public void TrainingAndValidationTasksNeverShareALatent()
    {
        foreach (var domain in MetaMetaPlan.DefaultDomains)
        {
            var tasks = domain.TrainingTasks(7, 64, 12);
            Assert.That(tasks, Has.Length.EqualTo(64));
            Assert.That(domain.TrainingTasks(7, 16, 12), Is.EqualTo(tasks[..16]).AsCollection, "the first n of a larger set are the set of size n");
            var validation = domain.ValidationItems(10, 4);
            Assert.That(validation, Has.Count.EqualTo(10 * SyntheticSuite.QueriesPerLatent));
            Assert.That(domain.ValidationItems(10, 4).Select(item => item.Query), Is.EqualTo(validation.Select(item => item.Query)), "items depend on the domain only");
        }
    }

    /// <summary>Both arms are handed batches by the same function of (seed, position): identical, whoever asks.</summary>
    [Test]
    public void BatchesAreAFunctionOfTheSeedAndPosition()
    {
        var tasks = Labels.TrainingTasks(3, 8, 32);
        var first = TaskBatches.FromTasks(Labels, tasks, 4, 64, seed: 11);
        var again = TaskBatches.FromTasks(Labels, tasks, 4, 64, seed: 11);
        var other = TaskBatches.FromTasks(Labels, tasks, 4, 64, seed: 12);
        Assert.That(again(5).InputIds, Is.EqualTo(first(5).InputIds));
        Assert.That(again(5).Labels, Is.EqualTo(first(5).Labels));
        Assert.That(other(5).InputIds, Is.Not.EqualTo(first(5).InputIds));
        Assert.That(first(6).InputIds, Is.Not.EqualTo(first(5).InputIds));
        var batch = first(0);
        Assert.That(batch.Sequences().Count, Is.EqualTo(4), "one episode per row");
        Assert.That(batch.Labels.Count(label => label != TokenBatch.IgnoreIndex), Is.GreaterThan(4 * 5), "several supervised answers per row");
    }

    /// <summary>Scoring in right-padded batches gives what each item scores alone: padding never reaches the answer position.</summary>
    [Test]
    public void BatchedScoresAreThoseOfEachItemAlone()
    {
        var model = ModelInit.Random(Tiny, Cpu, 5);
        var items = Labels.ValidationItems(12, 3).Concat(Labels.ValidationItems(12, 0)).ToArray();
        var batched = LabelScorer.Score(model, Labels, items, Tiny.MaxPositionEmbeddings);
        var alone = items.Select(item => LabelScorer.Score(model, Labels, [item], Tiny.MaxPositionEmbeddings)[0]).ToArray();
        Assert.That(batched, Is.EqualTo(alone));
        Assert.That(batched.Distinct().Count(), Is.EqualTo(2), "an untrained model gets some right and some wrong");
    }

    [Test]
    public void ASnapshotRebuildsTheSameModelAndMovesTowardsAnother()
    {
        var a = ModelInit.Random(Tiny, Cpu, 1);
        var b = ModelInit.Random(Tiny, Cpu, 2);
        var snapshot = WeightSnapshot.Of(a);
        float[] Values(Transformer model, int p) => model.Parameters[p].Value.Value.ToArray();
        var rebuilt = snapshot.Build(Tiny, Cpu);
        var halfway = snapshot.MovedTowards(b, 0.5f).Build(Tiny, Cpu);
        for (int p = 0; p < a.Parameters.Count; p++)
        {
            Assert.That(Values(rebuilt, p), Is.EqualTo(Values(a, p)), a.Parameters[p].Name);
            var expected = Values(a, p).Zip(Values(b, p), (x, y) => x + 0.5f * (y - x));
            Assert.That(Values(halfway, p), Is.EqualTo(expected), a.Parameters[p].Name);
        }
        snapshot.MovedTowards(b, 1f);
        Assert.That(Values(snapshot.Build(Tiny, Cpu), 0), Is.EqualTo(Values(a, 0)), "moving returns a new snapshot");
    }

    /// <summary>
    /// One round with outer step 1 is plain training on that round's domain; with outer step 0 the initialization
    /// stays where it started.
    /// </summary>
    [Test]
    public void OneFullReptileRoundIsTheInnerLoopsTraining()
    {
        var start = WeightSnapshot.Of(ModelInit.Random(Tiny, Cpu, 3));
        var objective = ObjectiveCatalog.Create("it", new DrIclOptions());
        var tasks = Labels.TrainingTasks(3, 8, 16);
        Func<long, TokenBatch> Batches(int turn, int round) => TaskBatches.FromTasks(Labels, tasks, 2, 64, (ulong)(round + 10 * turn));
        var full = Reptile.Initialization(start, Tiny, Cpu, objective, 1, Batches, rounds: 1, innerSteps: 3, learningRate: 1e-2f, outerStep: 1f).Build(Tiny, Cpu);
        var trained = start.Build(Tiny, Cpu);
        StudyTraining.Train(trained, objective, Batches(0, 0), 3, 1e-2f);
        var still = Reptile.Initialization(start, Tiny, Cpu, objective, 1, Batches, rounds: 1, innerSteps: 3, learningRate: 1e-2f, outerStep: 0f).Build(Tiny, Cpu);
        var original = start.Build(Tiny, Cpu);
        for (int p = 0; p < full.Parameters.Count; p++)
        {
            Assert.That(full.Parameters[p].Value.Value.ToArray(), Is.EqualTo(trained.Parameters[p].Value.Value.ToArray()).Within(1e-6f),
                $"{full.Parameters[p].Name}: init + 1 x (adapted - init) rounds to the adapted weights");
            Assert.That(still.Parameters[p].Value.Value.ToArray(), Is.EqualTo(original.Parameters[p].Value.Value.ToArray()), full.Parameters[p].Name);
        }
        Assert.That(trained.Parameters[1].Value.Value.ToArray(), Is.Not.EqualTo(original.Parameters[1].Value.Value.ToArray()), "training moved the weights");
    }
}
