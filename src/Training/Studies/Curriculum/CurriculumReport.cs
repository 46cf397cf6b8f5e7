using System.Globalization;
using System.Text.Json.Nodes;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies;

/// <summary>The curriculum study's report.html and its findings, every number taken from <see cref="CurriculumResults"/>.</summary>
public static class CurriculumReport
{
    const string Threshold = "threshold: best without demonstrations", Optimal = "optimal learner";
    const int D = SparseLinearFamily.Dimension;

    public static StudyPage Page(CurriculumResults results, JsonObject meta)
    {
        var plan = results.Plan;
        int[] steps = plan.EvaluationSteps;
        var page = new StudyPage("Study: a curriculum over the number of non-zero weights");
        page.Paragraph(string.Create(CultureInfo.InvariantCulture, $"A {plan.Model.Layers}-layer Llama (d={plan.Model.HiddenSize}, byte tokens) learns in-context sparse linear regression: " +
            $"each episode has its own weight vector w over {D} coordinates, and {results.Shots} demonstrations \"x=y\" (x in {{-1,0,1}}^{D} written one character a coordinate, " +
            $"y = w·x exact) before a query. Trained {plan.Steps} steps of {plan.Rows} x {plan.Context} tokens per run, with the curriculum (every episode at the current number " +
            $"of non-zero weights, from {SparseLinearFamily.MinDifficulty} up to {D}, each level for an equal share of the first {plan.RampFraction * 100:F0}% of training, then {D}) " +
            $"and without it ({D} from the start); each arm once per training seed, sharing the seed's initialization and data stream. " +
            $"Measured on held-out weight vectors (never trained on) with all {D} weights non-zero: the query loss every " +
            $"{plan.Steps / Math.Max(1, plan.Evaluations)} steps and the final exact-match accuracy, scored from the logits (teacher-forced, equal to greedy decoding)."));
        page.Heading("Findings").Paragraph(string.Join("\n\n", Findings(results)));

        StudySeries Flat(string name, double loss) => new(name, [new StudyPoint(0, loss), new StudyPoint(plan.Steps, loss)], Dashed: true);
        page.Chart("loss", "Held-out query loss at the full difficulty", "training step", "loss (nats)",
            [.. CurriculumResults.Arms.Select(arm => new StudySeries(arm, [.. steps.Select((step, e) => StudyPoint.Of(step, results.CurveAt(arm, e)))])),
             Flat(Threshold, results.Threshold), Flat(Optimal, results.OptimalLoss)]);
        page.Chart("shots", "Final accuracy by shots (full difficulty)", "shots before the answer", "exact match",
            [.. CurriculumResults.Arms.Select(arm => new StudySeries(arm, [.. Enumerable.Range(0, results.Shots + 1).Select(k => StudyPoint.Of(k, results.AccuracyByShots(arm, k)))])),
             new StudySeries(Optimal, [.. Enumerable.Range(0, results.Shots + 1).Select(k => StudyPoint.Of(k, results.OptimalAccuracyByShots(k)))], Dashed: true)],
            categoricalX: true);
        page.Note("Bars and brackets: 95% two-stage bootstrap intervals (training seeds, then held-out items within each). Dashed: the optimal learner " +
            "(the exact posterior over weight vectors) with all the shots, and without any: the loss threshold.");

        page.Table(["arm", "runs reaching the threshold", "steps to the threshold", string.Create(CultureInfo.InvariantCulture, $"final accuracy ({results.Shots} shots)"), "final query loss"],
            [.. CurriculumResults.Arms.Select(arm => (IReadOnlyList<string>)[arm, $"{results.StepsTo(arm).Count(s => s is not null)} of {results.Runs[arm].Length}",
                Steps(results.StepsToThreshold(arm)), results.FinalAccuracy(arm).ToString(), results.FinalLoss(arm).ToString()]),
             [Optimal, "", "", results.OptimalAccuracyByShots(results.Shots).ToString(), string.Create(CultureInfo.InvariantCulture, $"{results.OptimalLoss:F3}")],
             ["curriculum − none (paired)", "", Steps(results.StepsDifference, signed: true), results.AccuracyDifference.ToSignedString(), results.LossDifference.ToSignedString()]]);
        return page.Meta(meta);
    }

    /// <summary>What the run shows, one sentence group per line, for the log and the report.</summary>
    public static List<string> Findings(CurriculumResults results)
    {
        int runs = results.Runs[CurriculumResults.None].Length;
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"Threshold: a mean held-out query loss of {results.Threshold:F3} nats, the optimal learner's loss on these queries without demonstrations " +
                $"(the family's prior predictive P(y | x)): no model gets lower without using the demonstrations, so the steps to reach it are the steps to start learning in context. " +
                $"With all {results.Shots} shots the optimal learner's loss is {results.OptimalLoss:F3}."),
        };
        foreach (var arm in CurriculumResults.Arms)
        {
            int reached = results.StepsTo(arm).Count(s => s is not null);
            var below = results.LossBelowPrior(arm);
            string inContext = below.BelowZero ? "below the threshold: it uses the demonstrations (learns in context)"
                : below.AboveZero ? "above the threshold: it has not learned in context at this budget"
                : "not distinguishable from the threshold: no in-context learning is shown at this budget";
            string censored = reached < runs ? string.Create(CultureInfo.InvariantCulture, $" (a run that never reached it counts as its {results.Plan.Steps} steps, so this is a lower bound)") : "";
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{arm}: reached the threshold in {reached} of {runs} runs, after {Steps(results.StepsToThreshold(arm))} steps{censored}" +
                $"; final accuracy {results.FinalAccuracy(arm)}, final query loss {results.FinalLoss(arm)}, {below.ToSignedString()} from the threshold item by item, {inContext}."));
        }
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"The optimal learner answers {results.OptimalAccuracyByShots(results.Shots)} after {results.Shots} shots and {results.OptimalAccuracyByShots(0)} without any."));
        var steps = results.StepsDifference;
        var accuracy = results.AccuracyDifference;
        bool anyReached = CurriculumResults.Arms.Any(arm => results.StepsTo(arm).Any(s => s is not null));
        string stepsVerdict = anyReached ? Verdict(steps, "the curriculum reaches it sooner", "the curriculum reaches it later")
            : "no run of either arm reached the threshold, so the steps cannot be compared";
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"Paired curriculum − none: steps to the threshold {Steps(steps, signed: true)} ({stepsVerdict}); " +
            $"final accuracy {accuracy.ToSignedString()} ({Verdict(accuracy, "the curriculum ends less accurate", "the curriculum ends more accurate")}); " +
            $"final loss {results.LossDifference.ToSignedString()}."));
        return lines;

        string Verdict(Interval difference, string below, string above) =>
            difference.BelowZero ? $"{below}, the interval excludes zero" : difference.AboveZero ? $"{above}, the interval excludes zero"
            : $"not settled by {runs} seeds: the interval holds zero";
    }

    /// <summary>A step count's interval in whole steps: "850 [600, 1100]", or "+250 [-100, +600]" for a difference.</summary>
    static string Steps(Interval steps, bool signed = false)
    {
        string format = signed ? "+0;-0;0" : "0";
        return string.Create(CultureInfo.InvariantCulture, $"{steps.Estimate.ToString(format, CultureInfo.InvariantCulture)} [{steps.Low.ToString(format, CultureInfo.InvariantCulture)}, {steps.High.ToString(format, CultureInfo.InvariantCulture)}]");
    }
}
