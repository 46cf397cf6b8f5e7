using DrICL.Model;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.MetaMeta;

/// <summary>
/// What the meta-meta study runs: its domains, model, and the steps of each phase. <see cref="For"/> gives the default
/// plan (sized to finish in <see cref="DefaultMinutes"/> on a quiet 2-core machine; --budget scales every phase's
/// steps) or the tiny --quick plan, with the size flags applied to the model.
/// </summary>
public sealed record MetaMetaPlan
{
    public const double DefaultMinutes = 10;

    public required IReadOnlyList<MetaMetaDomain> Domains { get; init; }
    public required ModelConfig Model { get; init; }
    /// <summary>Domain sizes: how many of its training tasks a domain's fine-tuning may use.</summary>
    public required IReadOnlyList<int> Sizes { get; init; }
    public required int Rows { get; init; }
    public required float LearningRate { get; init; }
    /// <summary>Steps of the base model on the mixture of all domains.</summary>
    public required int BaseSteps { get; init; }
    /// <summary>Reptile rounds per held-out domain, each an inner loop of <see cref="InnerSteps"/> on one other domain.</summary>
    public required int ReptileRounds { get; init; }
    public required int InnerSteps { get; init; }
    public required float OuterStep { get; init; }
    /// <summary>Fine-tuning steps of both arms, per domain and size.</summary>
    public required int AdaptSteps { get; init; }
    public required float AdaptLearningRate { get; init; }
    /// <summary>Examples per training task (a task's whole data set).</summary>
    public required int PoolSize { get; init; }
    public required int ValidationTasks { get; init; }
    /// <summary>Demonstrations before each validation query.</summary>
    public required int Shots { get; init; }

    public int Seq => Model.MaxPositionEmbeddings;

    /// <summary>The study's own model: 2 layers, d = 64, 4 heads, MLP 192, byte vocabulary, 128-token episodes.</summary>
    public static ModelConfig DefaultModel { get; } = new(vocabSize: 259, hiddenSize: 64, intermediateSize: 192, layers: 2, heads: 4, maxPositionEmbeddings: 128);

    /// <summary>The --quick plan's model: 1 layer, d = 32, 2 heads, 64-token episodes.</summary>
    public static ModelConfig QuickModel { get; } = new(vocabSize: 259, hiddenSize: 32, intermediateSize: 96, layers: 1, heads: 2, maxPositionEmbeddings: 64);

    /// <summary>
    /// The single-token families of the suite at difficulty 1, so a label's logit is the answer. Linear-sign (sign of
    /// a 2-D regression with noise) and pair-metric are left out to keep the default plan in budget.
    /// </summary>
    public static IReadOnlyList<MetaMetaDomain> DefaultDomains { get; } =
    [
        new(new PrototypeFamily(), 1, ["A", "B", "C"]),
        new(new FeatureRuleFamily(), 1, ["A", "B", "C"]),
        new(new LabelMapFamily(), 1, ["A", "B", "C"]),
        new(new CategoryClusterFamily(), 1, ["1", "2", "3"]),
    ];

    public static MetaMetaPlan For(StudyOptions options)
    {
        if (options.Quick)
            return new MetaMetaPlan
            {
                Domains = DefaultDomains.Take(3).ToArray(), Model = options.Model(QuickModel),
                Sizes = [4, 16], Rows = 2, LearningRate = 3e-3f, BaseSteps = 4, ReptileRounds = 2, InnerSteps = 2, OuterStep = 1f,
                AdaptSteps = 2, AdaptLearningRate = 1e-3f, PoolSize = 12, ValidationTasks = 2, Shots = 4,
            };
        int Scale(int steps) => options.ScaleSteps(steps, DefaultMinutes);
        return new MetaMetaPlan
        {
            Domains = DefaultDomains, Model = options.Model(DefaultModel), Sizes = [64, 256, 1024], Rows = 8, LearningRate = 3e-3f,
            BaseSteps = Scale(1500), ReptileRounds = Scale(24), InnerSteps = 10, OuterStep = 1f,
            AdaptSteps = Scale(100), AdaptLearningRate = 3e-3f, PoolSize = 32, ValidationTasks = 25, Shots = 8,
        };
    }
}
