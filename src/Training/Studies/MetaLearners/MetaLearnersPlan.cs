using DrICL.Model;

namespace DrICL.Training.Studies.MetaLearners;

/// <summary>
/// What the meta-learners study trains and evaluates. The default plan fits in <see cref="DefaultMinutes"/> on a
/// quiet 2-core machine: 4 arms × 3 seeds = 12 training runs of the default steps, then every model answers
/// <see cref="ItemsPerSeed"/> queries per family, shot count and seed in teacher-forced forward passes. The budget
/// scales the steps; the size flags replace the model (its context is the episode length, in training and in
/// evaluation). Quick is the same code path at a size that runs in seconds.
/// </summary>
public sealed record MetaLearnersPlan(ModelConfig Model, int Steps, int Rows, float LearningRate, int[] Shots, int ItemsPerSeed, int Difficulty)
{
    public const double DefaultMinutes = 12;
    public const int DefaultSteps = 600;

    /// <summary>2 layers, d=64, 4 heads of 16, MLP 192, byte vocabulary, 256-token episodes.</summary>
    public static ModelConfig DefaultModel { get; } = new(vocabSize: 259, hiddenSize: 64, intermediateSize: 192, layers: 2, heads: 4, maxPositionEmbeddings: 256);

    static readonly ModelConfig QuickModel = new(vocabSize: 259, hiddenSize: 32, intermediateSize: 96, layers: 1, heads: 2, maxPositionEmbeddings: 128);

    public static MetaLearnersPlan For(StudyOptions options) => options.Quick
        ? new(options.Model(QuickModel), Steps: 3, Rows: 2, LearningRate: 2e-3f, Shots: [1, 4], ItemsPerSeed: 4, Difficulty: 1)
        : new(options.Model(DefaultModel), options.ScaleSteps(DefaultSteps, DefaultMinutes), Rows: 8, LearningRate: 3e-3f, Shots: [1, 2, 4, 8, 16], ItemsPerSeed: 96, Difficulty: 1);

    public int Context => Model.MaxPositionEmbeddings;
}
