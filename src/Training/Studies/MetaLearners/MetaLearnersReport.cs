using System.Globalization;
using System.Text.Json.Nodes;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.MetaLearners;

/// <summary>
/// The meta-learners report: its findings as sentences whose every number comes from the run (logged and on the page),
/// the accuracy curves of each family beside its learner, the paired differences mixed − single, the training
/// losses, and a table of every interval.
/// </summary>
public static class MetaLearnersReport
{
    const string Alone = "trained alone";
    const string Mixture = "trained on the mixture";
    const string Bayes = "Bayes-optimal solver";

    /// <summary>The answer to the question, then per family what the paired difference mixed − single says, whether the model learns in context at all, and how it compares with the learners.</summary>
    public static List<string> Findings(MetaLearnersResults results)
    {
        var lines = new List<string>();
        var losses = new List<string>();
        var unlearned = new List<string>();
        foreach (var f in results.Families)
        {
            var shots = results.Shots[f.Name];
            int last = shots.Length - 1;
            var pooled = results.PooledDifference(f.Name);
            var gain = results.Gain(f.Name, f.Name);
            string verdict = pooled.BelowZero ? $"mixed training loses accuracy on {f.Name}"
                : pooled.AboveZero ? $"mixed training does better than training on {f.Name} alone"
                : $"no difference detectable on {f.Name}: the interval holds 0, and bounds a loss at {Math.Max(0, -pooled.Low):F3}";
            if (pooled.BelowZero) losses.Add(f.Name);
            if (!gain.AboveZero) unlearned.Add(f.Name);
            string caveat = gain.AboveZero ? "" : $"; but the model trained alone does not learn {f.Name} in context here (no detectable gain from k={shots[0]} to k={shots[last]}), so there is little to keep";
            lines.Add(Text($"{f.Name} ({f.Paradigm}): mixed − single over k = {string.Join(",", shots)}: {pooled.ToSignedString()}; {verdict}{caveat}."));
            lines.Add(Text($"  in-context gain from k={shots[0]} to k={shots[last]} (paired): alone {gain.ToSignedString()}, mixture {results.Gain(MetaLearnersArm.MixedName, f.Name).ToSignedString()}."));
            string ceiling = f.Family is NoisyAffineFamily
                ? Text($" (no learner can beat the noise: the true rule is right {NoisyAffineFamily.NoiselessShare(results.Plan.Difficulty):F3} of the time)")
                : "";
            lines.Add(Text($"  at k={shots[last]}: alone {results.ModelAt(f.Name, f.Name, last)}, mixture {results.ModelAt(MetaLearnersArm.MixedName, f.Name, last)}, {f.LearnerName} {results.ReferenceAt(f.Name, last)}, Bayes-optimal {results.BayesAt(f.Name, last)} on the same queries{ceiling}."));
        }
        string learned = unlearned.Count == 0 ? "" : $" The model trained alone shows no detectable in-context gain on {string.Join(", ", unlearned)}: there, keeping performance means keeping the format and the label frequencies, not a learned learner.";
        lines.Insert(0, (losses.Count == 0
            ? "Does mixed training keep single-family performance? At this scale no loss is detectable on any family (95% paired intervals below)."
            : $"Does mixed training keep single-family performance? Not on {string.Join(", ", losses)}: the paired interval lies below 0.") + learned);
        return lines;
    }

    public static StudyPage Page(MetaLearnersResults results, JsonObject meta)
    {
        var plan = results.Plan;
        var page = new StudyPage("Meta-learners: the ICL model beside each family's own learner");
        string budget = meta["budget_minutes"] is JsonNode minutes
            ? Text($" Budget: {minutes} minutes on 2 cores (the default is {MetaLearnersPlan.DefaultMinutes}).")
            : " Quick plan (for tests).";
        page.Paragraph(
            Text($"A {plan.Model.Layers}-layer Llama (d={plan.Model.HiddenSize}, byte vocabulary) trained from scratch with instruction tuning for {plan.Steps} steps of {plan.Rows} x {plan.Context} tokens, {results.Seeds} training seeds per arm. ") +
            "Arms: one per family trained on that family alone, and one on the mixture of the three (families take turns: the mixture's episode n is episode n " +
            "of the single arm of its family, so it sees a third of each family's stream in the same number of steps). Every arm trained with seed i starts " +
            "from the same weights and reads the same data stream. " +
            Text($"Evaluation: {plan.ItemsPerSeed} held-out queries per family, shot count and seed, at difficulty {plan.Difficulty}, on test-side latents never trained on; ") +
            "the same demonstrations and queries for every arm and for the family's learner (nearest neighbour over the pairs' per-position distance vectors, " +
            "class means, the affine rule's maximum-likelihood fit) and for the family's Bayes-optimal solver (the most probable answer under the family's " +
            "own prior and noise, an upper reference). The model is scored by exact match of its greedy answer, computed from one teacher-forced pass. " +
            "Bars and brackets: 95% two-stage bootstrap intervals over training seeds and queries; differences are paired (same seeds, same queries)." + budget);

        page.Heading("Does mixed training keep single-family performance?");
        page.Paragraph(string.Join("\n\n", Findings(results).Select(line => line.Trim())));

        page.Heading("Accuracy over shots");
        foreach (var f in results.Families)
        {
            var shots = results.Shots[f.Name];
            StudySeries Curve(string name, Func<int, Interval> at, bool dashed = false) =>
                new(name, [.. shots.Select((k, i) => StudyPoint.Of(k, at(i)))], dashed);
            page.Chart(f.Name, $"{f.Name} ({f.Paradigm})", "shots k", "exact-match accuracy",
            [
                Curve(Alone, i => results.ModelAt(f.Name, f.Name, i)),
                Curve(Mixture, i => results.ModelAt(MetaLearnersArm.MixedName, f.Name, i)),
                Curve(f.LearnerName, i => results.ReferenceAt(f.Name, i), dashed: true),
                Curve(Bayes, i => results.BayesAt(f.Name, i), dashed: true),
            ], categoricalX: true);
        }
        page.Chart("difference", "Mixed − single, paired", "shots k", "accuracy difference",
            [.. results.Families.Select(f => new StudySeries(f.Name, [.. results.Shots[f.Name].Select((k, i) => StudyPoint.Of(k, results.Difference(f.Name, i)))]))],
            categoricalX: true);
        page.Chart("loss", "Training loss (mean over seeds)", "step", "loss",
            [.. results.Loss.Select(pair => new StudySeries(pair.Key == MetaLearnersArm.MixedName ? Mixture : pair.Key,
                [.. Enumerable.Range(0, pair.Value[0].Length).Select(step => new StudyPoint(step + 1, pair.Value.Average(seed => seed[step])))]))]);

        page.Heading("Every interval");
        page.Table(["family", "k", Alone, Mixture, "mixed − single", "learner", Bayes],
            results.Families.SelectMany(f => results.Shots[f.Name].Select((k, i) => (IReadOnlyList<string>)
            [
                f.Name, k.ToString(CultureInfo.InvariantCulture), results.ModelAt(f.Name, f.Name, i).ToString(),
                results.ModelAt(MetaLearnersArm.MixedName, f.Name, i).ToString(), results.Difference(f.Name, i).ToSignedString(),
                $"{f.LearnerName} {results.ReferenceAt(f.Name, i)}", results.BayesAt(f.Name, i).ToString(),
            ])));
        return page.Meta(meta);
    }

    static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
