using DrICL.Kernels;
using DrICL.Model;
using DrICL.Training.Objectives;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies;

/// <summary>
/// One training run of the curriculum study: an arm (with or without the curriculum) trained with one training seed.
/// <see cref="Curve"/>[e][item] is the query loss on the held-out items after <see cref="CurriculumPlan.EvaluationSteps"/>[e]
/// steps; <see cref="Final"/>[item][demonstration] the scores of the trained model on every answer of every item.
/// </summary>
public sealed record CurriculumRun(List<StepRecord> Training, double[][] Curve, AnswerScore[][] Final)
{
    /// <summary>
    /// Trains from the seed's initialization on the seed's data, instruction tuning (loss on every answer), and measures the
    /// held-out loss at each evaluation step. The episodes of training batch p depend only on (seed, p) and, with a
    /// curriculum, on its level at p.
    /// </summary>
    public static CurriculumRun Train(CurriculumPlan plan, SparseLinearEpisodes episodes, Curriculum? curriculum, TrainingSeed seed,
        IReadOnlyList<SparseLinearItem> items, IDevice device)
    {
        var model = ModelInit.Random(plan.Model, device, seed.Model);
        var heldOut = items.Select(item => item.Episode).ToList();
        var evaluationSteps = plan.EvaluationSteps;
        var curve = new List<double[]>();
        void Measure() => curve.Add([.. TeacherForcedAnswers.Score(model, heldOut, plan.Context).Select(CheckedQueryLoss)]);
        Measure();
        var training = StudyTraining.Train(model, new InstructionTuning(), p => episodes.Batch(p, plan.Rows, seed.Data, curriculum, plan.Steps),
            plan.Steps, plan.LearningRate, step => { if (evaluationSteps.Contains(step.Step)) Measure(); });
        return new CurriculumRun(training, [.. curve], TeacherForcedAnswers.Score(model, heldOut, plan.Context));
    }

    static double CheckedQueryLoss(AnswerScore[] answers) => double.IsFinite(answers[^1].Loss) ? answers[^1].Loss
        : throw new InvalidDataException($"the held-out query loss is {answers[^1].Loss}: the model's logits are not finite");

    /// <summary>The first evaluation step at which the mean held-out loss is at or below <paramref name="threshold"/>, or null.</summary>
    public int? StepsTo(double threshold, int[] evaluationSteps)
    {
        for (int e = 0; e < Curve.Length; e++)
            if (Curve[e].Average() <= threshold) return evaluationSteps[e];
        return null;
    }
}
