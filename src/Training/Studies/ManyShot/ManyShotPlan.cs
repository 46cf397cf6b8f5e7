using DrICL.Model;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// How much the many-shot study trains and evaluates. Every main arm of every seed runs <see cref="Steps"/> optimizer
/// steps of <see cref="Rows"/> episodes of the full context, every sensitivity point (and the default it is compared
/// with) <see cref="SweepSteps"/>; the items are scored at each of <see cref="Shots"/> that fits. The main arms are also
/// scored while they train, at k=0 and at each family's largest k, at <see cref="CurveSteps"/>.
/// </summary>
public sealed record ManyShotPlan(int Steps, int SweepSteps, int Rows, float LearningRate, int[] Shots, int Items, int CurvePoints)
{
    /// <summary>Minutes the default plan takes on the 2-core development machine when it is quiet, evaluation included (measured: 26 min 8 s).</summary>
    public const double DefaultMinutes = 26;

    /// <summary>The shots from which the study asks whether DrICL beats IT.</summary>
    public const int ManyShotFrom = 20;

    /// <summary>2 layers, d=64, 2 heads of 32, MLP 192, byte vocabulary, 1024 positions (0.14M parameters).</summary>
    public static ModelConfig DefaultModel { get; } = new(vocabSize: 259, hiddenSize: 64, intermediateSize: 192, layers: 2, heads: 2, maxPositionEmbeddings: 1024);

    /// <summary>The --quick model: 1 layer, d=32, 256 positions.</summary>
    public static ModelConfig QuickModel { get; } = new(vocabSize: 259, hiddenSize: 32, intermediateSize: 96, layers: 1, heads: 2, maxPositionEmbeddings: 256);

    /// <summary>
    /// 3 seeds x (IT + MetaICL + DrICL) x 600 steps and 3 seeds x 7 DrICL settings x 400 steps (median step: IT 0.05 s,
    /// DrICL 0.09 s), then 128 items per seed and family (32 test latents) scored at every k. Twice the steps did not
    /// make IT learn in context more clearly; more items did: with 32 items per seed (8 latents) the k=0 score alone
    /// swung from 0.09 to 0.47 between seeds with the answers the items happened to draw. The sweep's 400 steps are
    /// where the models have begun to use the context (at 200 every setting still answered the same for every item).
    /// </summary>
    public static ManyShotPlan Default { get; } = new(Steps: 600, SweepSteps: 400, Rows: 2, LearningRate: 3e-3f, Shots: [0, 1, 2, 5, 10, 20, 50, 75, 100], Items: 128, CurvePoints: 6);

    public static ManyShotPlan Quick { get; } = new(Steps: 2, SweepSteps: 1, Rows: 1, LearningRate: 3e-3f, Shots: [0, 1, 5, 20], Items: 4, CurvePoints: 2);

    /// <summary>The plan for the options: --quick's, or the default with its steps scaled by --budget.</summary>
    public static ManyShotPlan For(StudyOptions options) => options.Quick ? Quick
        : Default with { Steps = options.ScaleSteps(Default.Steps, DefaultMinutes), SweepSteps = options.ScaleSteps(Default.SweepSteps, DefaultMinutes) };

    /// <summary>The steps at which the main arms are scored while training: 0, then every Steps / CurvePoints.</summary>
    public int[] CurveSteps => StudyTraining.EvenlySpacedSteps(Steps, CurvePoints);

    /// <summary>The model of the options: their size flags over the default (or quick) model.</summary>
    public static ModelConfig Model(StudyOptions options) => options.Model(options.Quick ? QuickModel : DefaultModel);
}
