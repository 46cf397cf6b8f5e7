using DrICL.Model;

namespace DrICL.Training.Studies;

/// <summary>
/// What `dricl study curriculum` trains and measures: the model, the batch, the steps per run (the default plan's
/// scaled by the budget), how often and on how many held-out items the loss is measured, and the curriculum's ramp.
/// </summary>
public sealed record CurriculumPlan(ModelConfig Model, int Steps, int Rows, int Evaluations, int Items, float LearningRate, double RampFraction)
{
    /// <summary>Minutes of the default plan on this 2-core machine when it is quiet.</summary>
    public const double DefaultMinutes = 12;

    /// <summary>2 layers, d=64, 4 heads of 16, MLP 192, byte vocabulary, context 128 (12 shots a query).</summary>
    static readonly ModelConfig DefaultModel = new(vocabSize: 259, hiddenSize: 64, intermediateSize: 192, layers: 2, heads: 4, maxPositionEmbeddings: 128);

    static readonly CurriculumPlan Default = new(DefaultModel, Steps: 2000, Rows: 16, Evaluations: 20, Items: 96, LearningRate: 3e-3f, RampFraction: 0.5);

    /// <summary>The tiny plan of tests: one layer, d=32, context 64, a few steps.</summary>
    static readonly CurriculumPlan Quick = new(new ModelConfig(vocabSize: 259, hiddenSize: 32, intermediateSize: 96, layers: 1, heads: 2, maxPositionEmbeddings: 64),
        Steps: 12, Rows: 4, Evaluations: 4, Items: 8, LearningRate: 3e-3f, RampFraction: 0.5);

    public static CurriculumPlan For(StudyOptions options)
    {
        var plan = options.Quick ? Quick : Default with { Steps = options.ScaleSteps(Default.Steps, DefaultMinutes) };
        return plan with { Model = options.Model(plan.Model), Evaluations = Math.Min(plan.Evaluations, plan.Steps) };
    }

    public int Context => Model.MaxPositionEmbeddings;

    /// <summary>The steps after which the held-out loss is measured: 0 (the shared initialization), then every Steps / Evaluations, and the last.</summary>
    public int[] EvaluationSteps => StudyTraining.EvenlySpacedSteps(Steps, Evaluations);
}
