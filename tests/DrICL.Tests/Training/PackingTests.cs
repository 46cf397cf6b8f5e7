using DrICL.Kernels;
using DrICL.Training;
using DrICL.Training.Objectives;
using NUnit.Framework;

namespace DrICL.Tests.Training;

/// <summary>Episodes packed into one row (sequence ids, restarting positions) train exactly as if each had its own row.</summary>
public class PackingTests
{
    static TokenBatch Packed(TokenBatch rows) => new(1, rows.Batch * rows.Seq, rows.InputIds, rows.Labels, rows.DemoIds, rows.SegmentIds, rows.PositionIds,
        Enumerable.Range(0, rows.Batch * rows.Seq).Select(t => t / rows.Seq + 1).ToArray());

    static IEnumerable<IObjective> Objectives() =>
        [new InstructionTuning(), new MetaIcl(), new DrIcl(new DrIclOptions(Window: 2, Prefix: PrefixVisibility.First))];

    [TestCaseSource(nameof(Objectives))]
    public void PackedRowMatchesSeparateRows(IObjective objective)
    {
        var rows = TinyModels.Batch(seed: 4);
        var model = TinyModels.Model(tied: true, kvHeads: 2, window: 6, seed: 2);
        model.ZeroGrad();
        var separate = objective.Run(model, rows, backward: true);
        var separateGrads = model.Parameters.Select(p => p.Value.Grad!.ToArray()).ToList();

        model.ZeroGrad();
        var packed = objective.Run(model, Packed(rows), backward: true);
        Assert.That(packed.Loss, Is.EqualTo(separate.Loss).Within(1e-6));
        for (int i = 0; i < separateGrads.Count; i++)
            Assert.That(model.Parameters[i].Value.Grad!.ToArray(), Is.EqualTo(separateGrads[i]).Within(1e-6), model.Parameters[i].Name);
    }

    [Test]
    public void WithoutSequenceIdsPackedEpisodesSeeEachOther()
    {
        var rows = TinyModels.Batch(seed: 4);
        var model = TinyModels.Model(tied: true, kvHeads: 2, window: null, seed: 2);
        var leaky = Packed(rows) with { SequenceIds = null };
        Assert.That(new InstructionTuning().Run(model, leaky, backward: false).Loss,
            Is.Not.EqualTo(new InstructionTuning().Run(model, rows, backward: false).Loss).Within(1e-6));
    }
}
