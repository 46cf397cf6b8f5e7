using DrICL.Model;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// How much the many-shot study trains and evaluates. Every main arm of every seed runs <see cref="Steps"/> optimizer
/// steps of <see cref="Rows"/> episodes of the full context, every sensitivity point (and the default it is compared
/// with) <see cref="SweepSteps"/>; the items are scored at each of <see cref="Shots"/> that fits.
/// </summary>
public sealed record ManyShotPlan(int Steps, int SweepSteps, int Rows, float LearningRate, int[] Shots, int Items)
{
    /// <summary>Minutes the default plan takes on the 2-core development machine when it is quiet, evaluation included (measured: 13 min 9 s).</summary>
    public const double DefaultMinutes = 13;

    /// <summary>The shots from which the study asks whether DrICL beats IT.</summary>
    public const int ManyShotFrom = 20;

    /// <summary>2 layers, d=64, 2 heads of 32, MLP 192, byte vocabulary, 1024 positions (0.14M parameters).</summary>
    public static ModelConfig DefaultModel { get; } = new(vocabSize: 259, hiddenSize: 64, intermediateSize: 192, layers: 2, heads: 2, maxPositionEmbeddings: 1024);

    /// <summary>The --quick model: 1 layer, d=32, 256 positions.</summary>
    public static ModelConfig QuickModel { get; } = new(vocabSize: 259, hiddenSize: 32, intermediateSize: 96, layers: 1, heads: 2, maxPositionEmbeddings: 256);

    /// <summary>
    /// 3 seeds x (IT + MetaICL + DrICL) x 600 steps and 3 seeds x 7 DrICL settings x 200 steps: 13 minutes on the quiet
    /// 2-core machine, scoring included (median step: IT 0.05 s, DrICL 0.09 s). Twice the steps (--budget 26, 25 min)
    /// did not make IT learn in context more clearly.
    /// </summary>
    public static ManyShotPlan Default { get; } = new(Steps: 600, SweepSteps: 200, Rows: 2, LearningRate: 3e-3f, Shots: [0, 1, 2, 5, 10, 20, 50, 75, 100], Items: 32);

    public static ManyShotPlan Quick { get; } = new(Steps: 2, SweepSteps: 1, Rows: 1, LearningRate: 3e-3f, Shots: [0, 1, 5, 20], Items: 4);

    /// <summary>The plan for the options: --quick's, or the default with its steps scaled by --budget.</summary>
    public static ManyShotPlan For(StudyOptions options) => options.Quick ? Quick
        : Default with { Steps = options.ScaleSteps(Default.Steps, DefaultMinutes), SweepSteps = options.ScaleSteps(Default.SweepSteps, DefaultMinutes) };

    /// <summary>The model of the options: their size flags over the default (or quick) model.</summary>
    public static ModelConfig Model(StudyOptions options) => options.Model(options.Quick ? QuickModel : DefaultModel);
}
