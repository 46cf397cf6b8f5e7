using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.MetaLearners;

/// <summary>
/// A training arm: the ICL model trained on one family alone, or on the mixture of the three (families take turns,
/// episode n from family n mod 3), evaluated on the families it was trained on. Training episode n of any arm is drawn
/// from (data seed, n) alone (<see cref="SyntheticSuite.TrainingEpisode"/>), so the mixture's episode n is exactly the
/// single-family arm's episode n for that family: the mixed arm sees a third of each single arm's stream, interleaved.
/// </summary>
public sealed record MetaLearnersArm(string Name, IReadOnlyList<MetaLearnerFamily> Families)
{
    public const string MixedName = "mixed";

    public SyntheticSuite Suite { get; } = new([.. Families.Select(f => f.Family)]);

    /// <summary>One single-family arm per family (named after it), then the mixture.</summary>
    public static IReadOnlyList<MetaLearnersArm> For(IReadOnlyList<MetaLearnerFamily> families) =>
        [.. families.Select(f => new MetaLearnersArm(f.Name, [f])), new MetaLearnersArm(MixedName, families)];
}
