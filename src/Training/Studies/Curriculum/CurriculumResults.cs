using System.Text.Json.Nodes;

namespace DrICL.Training.Studies;

/// <summary>
/// Every number of the curriculum study, derived once from the runs and the optimal learner's scores: the loss threshold,
/// steps to reach it, final accuracy and loss at the full difficulty, accuracy by shots, each arm's mean with its
/// two-stage bootstrap interval over (training seed, held-out item), and the paired differences curriculum − none.
/// </summary>
public sealed class CurriculumResults
{
    public const string None = "none", WithCurriculum = "curriculum";
    public static IReadOnlyList<string> Arms { get; } = [None, WithCurriculum];

    public CurriculumResults(CurriculumPlan plan, int shots, AnswerScore[][][] optimal, double[][] priorLoss, IReadOnlyDictionary<string, CurriculumRun[]> runs)
    {
        Plan = plan;
        Shots = shots;
        Optimal = optimal;
        Runs = runs;
        PriorQueryLoss = priorLoss;
        PriorLoss = priorLoss.SelectMany(seed => seed).Average();
        OptimalLoss = optimal.SelectMany(seed => seed.Select(item => item[^1].Loss)).Average();
    }

    public CurriculumPlan Plan { get; }
    public int Shots { get; }
    /// <summary>The optimal learner's scores [seed][item][demonstration].</summary>
    public AnswerScore[][][] Optimal { get; }
    public IReadOnlyDictionary<string, CurriculumRun[]> Runs { get; }
    /// <summary>The optimal learner's query loss without demonstrations [seed][item].</summary>
    public double[][] PriorQueryLoss { get; }

    /// <summary>
    /// The loss threshold: the optimal learner's mean query loss without demonstrations, the best any model does on these
    /// queries without using the demonstrations. A model below it has learned in context.
    /// </summary>
    public double PriorLoss { get; }
    public double Threshold => PriorLoss;
    /// <summary>The optimal learner's loss on the query after all the shots.</summary>
    public double OptimalLoss { get; }

    /// <summary>Steps to the threshold per seed, null where the run never reached it.</summary>
    public int?[] StepsTo(string arm) => [.. Runs[arm].Select(run => run.StepsTo(Threshold, Plan.EvaluationSteps))];

    /// <summary>Steps to the threshold as scores [seed][1], a run that never reached it counted at its full length (a lower bound).</summary>
    double[][] CensoredSteps(string arm) => [.. StepsTo(arm).Select(steps => new double[] { steps ?? Plan.Steps })];

    double[][] Final(string arm, Func<AnswerScore, double> score, int demonstration) =>
        [.. Runs[arm].Select(run => run.Final.Select(item => score(item[demonstration])).ToArray())];

    double[][] OptimalAt(Func<AnswerScore, double> score, int demonstration) =>
        [.. Optimal.Select(seed => seed.Select(item => score(item[demonstration])).ToArray())];

    static double Accuracy(AnswerScore score) => score.Correct ? 1 : 0;
    static double Loss(AnswerScore score) => score.Loss;

    public Interval StepsToThreshold(string arm) => Bootstrap.Mean(CensoredSteps(arm));
    public Interval FinalAccuracy(string arm) => Bootstrap.Mean(Final(arm, Accuracy, Shots));
    public Interval FinalLoss(string arm) => Bootstrap.Mean(Final(arm, Loss, Shots));
    public Interval CurveAt(string arm, int evaluation) => Bootstrap.Mean([.. Runs[arm].Select(run => run.Curve[evaluation])]);
    public Interval AccuracyByShots(string arm, int shots) => Bootstrap.Mean(Final(arm, Accuracy, shots));
    public Interval OptimalAccuracyByShots(int shots) => Bootstrap.Mean(OptimalAt(Accuracy, shots));

    /// <summary>The arm's final query loss minus the best loss without demonstrations, item by item: below zero, it learns in context.</summary>
    public Interval LossBelowPrior(string arm) => Bootstrap.PairedDifference(Final(arm, Loss, Shots), PriorQueryLoss);

    /// <summary>curriculum − none on the same seeds and items.</summary>
    public Interval StepsDifference => Bootstrap.PairedDifference(CensoredSteps(WithCurriculum), CensoredSteps(None));
    public Interval AccuracyDifference => Bootstrap.PairedDifference(Final(WithCurriculum, Accuracy, Shots), Final(None, Accuracy, Shots));
    public Interval LossDifference => Bootstrap.PairedDifference(Final(WithCurriculum, Loss, Shots), Final(None, Loss, Shots));

    public JsonObject ToJson(JsonObject meta)
    {
        int[] evaluationSteps = Plan.EvaluationSteps;
        var arms = new JsonObject();
        foreach (var arm in Arms)
            arms[arm] = new JsonObject
            {
                ["steps_to_threshold"] = StepsToThreshold(arm).ToJson(),
                ["reached_threshold"] = StepsTo(arm).Count(steps => steps is not null),
                ["final_accuracy"] = FinalAccuracy(arm).ToJson(),
                ["final_loss"] = FinalLoss(arm).ToJson(),
                ["final_loss_minus_threshold"] = LossBelowPrior(arm).ToJson(),
                ["curve"] = new JsonArray([.. evaluationSteps.Select((step, e) => (JsonNode)new JsonObject { ["step"] = step, ["loss"] = CurveAt(arm, e).ToJson() })]),
                ["accuracy_by_shots"] = new JsonArray([.. Enumerable.Range(0, Shots + 1).Select(k => (JsonNode)AccuracyByShots(arm, k).ToJson())]),
                ["per_seed"] = new JsonArray([.. Runs[arm].Select((run, seed) => (JsonNode)new JsonObject
                {
                    ["seed"] = seed,
                    ["steps_to_threshold"] = StepsTo(arm)[seed],
                    ["curve"] = new JsonArray([.. run.Curve.Select(losses => (JsonNode)Math.Round(losses.Average(), 5))]),
                    ["query_loss"] = new JsonArray([.. run.Final.Select(item => (JsonNode)Math.Round(item[^1].Loss, 5))]),
                    ["query_correct"] = new JsonArray([.. run.Final.Select(item => (JsonNode)(item[^1].Correct ? 1 : 0))]),
                    ["query_loss_without_demonstrations"] = new JsonArray([.. PriorQueryLoss[seed].Select(loss => (JsonNode)Math.Round(loss, 5))]),
                    ["training_loss"] = new JsonArray([.. run.Training.Select(step => (JsonNode)Math.Round(step.Loss, 5))]),
                })]),
            };
        return new JsonObject
        {
            ["study"] = "curriculum",
            ["meta"] = meta,
            ["shots"] = Shots,
            ["evaluation_steps"] = new JsonArray([.. evaluationSteps.Select(step => (JsonNode)step)]),
            ["threshold"] = new JsonObject
            {
                ["loss"] = Threshold,
                ["optimal_loss"] = OptimalLoss,
                ["rule"] = "the optimal learner's mean query loss without demonstrations (the prior predictive P(y | x)): the lowest loss a model gets on these queries without using the demonstrations, so reaching it means learning in context",
            },
            ["optimal_learner"] = new JsonObject
            {
                ["final_accuracy"] = OptimalAccuracyByShots(Shots).ToJson(),
                ["accuracy_by_shots"] = new JsonArray([.. Enumerable.Range(0, Shots + 1).Select(k => (JsonNode)OptimalAccuracyByShots(k).ToJson())]),
            },
            ["arms"] = arms,
            ["paired_curriculum_minus_none"] = new JsonObject
            {
                ["steps_to_threshold"] = StepsDifference.ToJson(),
                ["final_accuracy"] = AccuracyDifference.ToJson(),
                ["final_loss"] = LossDifference.ToJson(),
            },
        };
    }
}
