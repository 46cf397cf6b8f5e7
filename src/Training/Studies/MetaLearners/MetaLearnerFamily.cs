using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.MetaLearners;

/// <summary>A learner that sees an episode's demonstrations and answers its query input.</summary>
public delegate string ContextLearner(IReadOnlyList<TaskExample> demonstrations, string queryInput);

/// <summary>
/// One of the study's three families with the learner the issue compares the ICL model against: the one built for
/// that kind of meta-learning problem.
/// </summary>
public sealed record MetaLearnerFamily(string Paradigm, ISyntheticFamily Family, string LearnerName, ContextLearner Learner)
{
    public string Name => Family.Name;

    /// <summary>Pair-wise metric, class prototype, amortization: the paper's three kinds of meta-learner.</summary>
    public static IReadOnlyList<MetaLearnerFamily> All { get; } =
    [
        new("pair-wise metric", new PairMetricFamily(), "nearest neighbour", NearestPairLearner.Answer),
        new("class prototype", new PrototypeFamily(), "class means", ClassMeansLearner.Answer),
        new("amortization", new NoisyAffineFamily(), "maximum-likelihood fit", NoisyAffineFamily.FitAndApply),
    ];
}
