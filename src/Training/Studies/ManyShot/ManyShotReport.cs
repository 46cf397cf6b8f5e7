using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrICL.Kernels;
using DrICL.Model;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// Writes the many-shot study's results.json (every number the page shows, per-seed raw scores and losses included)
/// and report.html (training curves, the main arms' in-context gain while training, each family's k-curve beside its solver, the paired DrICL − IT intervals at many
/// shots, the sensitivity sweep and the step cost), with sentences whose numbers all come from the findings.
/// </summary>
public static class ManyShotReport
{
    /// <summary>Training-loss points drawn per arm: the steps are averaged in this many buckets.</summary>
    const int LossPoints = 100;

    public static void Write(string dir, ManyShotPlan plan, ModelConfig config, StudyOptions options, IDevice device, ManyShotFindings findings, double seconds)
    {
        var meta = Meta(plan, config, options, device, findings, seconds);
        File.WriteAllText(Path.Combine(dir, "results.json"), Json(meta, findings).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Page(meta, plan, config, options, findings).Write(Path.Combine(dir, "report.html"));
    }

    static JsonObject Meta(ManyShotPlan plan, ModelConfig config, StudyOptions options, IDevice device, ManyShotFindings findings, double seconds) => new()
    {
        ["study"] = "many-shot",
        ["model"] = Text($"Llama, {config.Layers} layers, d={config.HiddenSize}, {config.Heads} heads, MLP {config.IntermediateSize}, byte vocabulary, context {config.MaxPositionEmbeddings}"),
        ["budget_minutes"] = options.Quick ? null : options.BudgetMinutes ?? ManyShotPlan.DefaultMinutes,
        ["quick"] = options.Quick,
        ["steps"] = plan.Steps,
        ["sweep_steps"] = plan.SweepSteps,
        ["curve_steps"] = new JsonArray([.. findings.CurveSteps.Select(s => (JsonNode)s)]),
        ["batch"] = Text($"{plan.Rows} x {config.MaxPositionEmbeddings} tokens"),
        ["learning_rate"] = plan.LearningRate,
        ["seeds"] = findings.Items.Seeds,
        ["items_per_seed"] = findings.Items.Items,
        ["shots"] = new JsonArray([.. plan.Shots.Select(k => (JsonNode)k)]),
        ["many_shot_from"] = ManyShotPlan.ManyShotFrom,
        ["families"] = new JsonArray([.. findings.Items.Families.Select(f => (JsonNode)f.Family.Name)]),
        ["device"] = device.Name,
        ["seconds"] = Math.Round(seconds, 1),
    };

    static JsonObject Json(JsonObject meta, ManyShotFindings findings)
    {
        var arms = new JsonObject();
        foreach (var arm in findings.Arms.Append(findings.Solver).Concat(findings.Sweep.Select(p => p.Results)))
        {
            var families = new JsonObject();
            foreach (var (f, fi) in findings.Items.Families.Select((f, i) => (f, i)))
                families[f.Family.Name] = new JsonObject
                {
                    ["k"] = new JsonArray([.. f.Shots.Select(k => (JsonNode)k)]),
                    ["score"] = new JsonArray([.. findings.Curve(arm, f.Family.Name).Select(p => (JsonNode)p.Score.ToJson())]),
                    ["raw"] = Raw(arm.Scores[fi]),
                };
            var average = findings.Curve(arm, ManyShotFindings.Average);
            var entry = arms[arm.Name] = new JsonObject
            {
                ["families"] = families,
                ["average"] = new JsonObject
                {
                    ["k"] = new JsonArray([.. average.Select(p => (JsonNode)p.K)]),
                    ["score"] = new JsonArray([.. average.Select(p => (JsonNode)p.Score.ToJson())]),
                },
                ["many_shot"] = Bootstrap.Mean(ManyShotFindings.PooledManyShot(findings.Items, arm, null)).ToJson(),
                ["train_loss"] = new JsonArray([.. arm.Training.Select(steps => (JsonNode)new JsonArray([.. steps.Select(r => (JsonNode)Math.Round(r.Loss, 5))]))]),
                ["median_step_seconds"] = arm.MedianStepSeconds() is double m ? Math.Round(m, 4) : null,
            };
            if (arm.DuringTraining.Length > 0)
                entry["during_training"] = new JsonArray([.. findings.DuringTraining(arm).Select((p, c) => (JsonNode)new JsonObject
                {
                    ["step"] = p.Step,
                    ["zero_shot"] = p.ZeroShot.ToJson(),
                    ["largest_k"] = p.LargestK.ToJson(),
                    ["gain"] = p.Gain.ToJson(),
                    ["raw"] = new JsonArray([.. arm.DuringTraining[c].Select(f => (JsonNode)Raw(f))]),
                })]);
        }
        return new JsonObject
        {
            ["meta"] = meta,
            ["arms"] = arms,
            ["it_many_shot_minus_zero_shot"] = Findings(findings.ItGainOverZeroShot),
            ["dricl_minus_it"] = Findings(findings.DrIclMinusIt),
            ["metaicl_minus_it"] = Findings(findings.MetaIclMinusIt),
            ["sweep"] = new JsonArray([.. findings.SweepPoints.Select(p => (JsonNode)new JsonObject
            {
                ["arm"] = p.Arm.Name,
                ["factor"] = p.Arm.Factor,
                ["alpha"] = p.Arm.DrIcl.Alpha,
                ["gamma"] = p.Arm.DrIcl.Gamma,
                ["window"] = p.Arm.DrIcl.Window,
                ["many_shot"] = p.Score.ToJson(),
                ["minus_default"] = p.MinusDefault.ToJson(),
            })]),
            ["sweep_default"] = findings.DefaultDrIclManyShot.ToJson(),
            ["median_step_seconds"] = new JsonObject(findings.MedianStepSeconds.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Math.Round(p.Value, 4)))),
            ["dricl_step_cost_ratio"] = Math.Round(findings.DrIclStepCostRatio, 3),
        };
    }

    static JsonArray Raw(double[][][] scores) =>
        new([.. scores.Select(atK => (JsonNode)new JsonArray([.. atK.Select(seed => (JsonNode)new JsonArray([.. seed.Select(x => (JsonNode)x)]))]))]);

    static JsonObject Findings(IReadOnlyList<PairedFinding> findings) =>
        new(findings.Select(p => KeyValuePair.Create(p.Family, (JsonNode?)new JsonObject { ["difference"] = p.Difference.ToJson(), ["verdict"] = p.Verdict })));

    static StudyPage Page(JsonObject meta, ManyShotPlan plan, ModelConfig config, StudyOptions options, ManyShotFindings findings)
    {
        var page = new StudyPage("DrICL study: many-shot ICL from scratch");
        int seeds = findings.Items.Seeds;
        page.Paragraph(Text($"A {config.Layers}-layer Llama (d={config.HiddenSize}, context {config.MaxPositionEmbeddings} byte tokens) trained from scratch for {plan.Steps} steps of ") +
            Text($"{plan.Rows} x {config.MaxPositionEmbeddings} tokens at learning rate {plan.LearningRate} ({(options.Quick ? "the --quick plan" : Text($"budget {meta["budget_minutes"]} minutes on 2 cores"))}), ") +
            Text($"once per arm and training seed: {seeds} seeds, each giving every arm the same initialization and the same batches. \"none\" is the untrained model. ") +
            Text($"Families: {string.Join(", ", findings.Items.Families.Select(f => f.Family.Name))}: of the suite's single-token families, the ones that rose above their k=0 score in ") +
            Text($"600-step trial runs of the default model (linear-sign, pair-metric and cluster stayed at chance; cipher and extract need multi-token answers). Each is scored on {findings.Items.Items} held-out items per seed (test-side latents, the same for every arm) ") +
            Text($"at its hardest difficulty, by whether the right answer has the highest logit among the family's answers. Intervals are 95% two-stage bootstrap ") +
            Text($"intervals over training seeds and items; differences between arms are paired (same seeds, same items)."));

        page.Heading("Training loss");
        page.Paragraph("Each objective's own loss (MetaICL: the last demonstration only; DrICL: the reweighted many-shot term plus the zero-shot term), mean over seeds, so levels differ between objectives.");
        page.Chart("train-loss", "training loss", "step", "loss", [.. findings.Arms.Where(a => a.Training[0].Count > 0).Select(a => new StudySeries(a.Name, LossCurve(a), false))]);

        var gain = findings.ItGainOverZeroShot.First(p => p.Family == ManyShotFindings.Average);
        page.Heading("Does IT learn in context?");
        page.Paragraph(Text($"IT's score pooled over k >= {ManyShotPlan.ManyShotFrom} minus its k=0 score, on the same items: {gain.Difference.ToSignedString()} ({gain.Verdict})."));
        page.Table(["family", "IT (k >= 20) - IT (k = 0)", "verdict"], [.. findings.ItGainOverZeroShot.Select(p => (IReadOnlyList<string>)[p.Family, p.Difference.ToSignedString(), p.Verdict])]);
        var scored = findings.Arms.Where(a => a.DuringTraining.Length > 0).ToList();
        page.Paragraph(Text($"While training, each main arm was scored on the same items at k=0 and at each family's largest k ({string.Join(", ", findings.Items.Families.Select(f => Text($"{f.Family.Name} {f.Shots[^1]}")))}) ") +
            Text($"at steps {string.Join(", ", findings.CurveSteps)}: the gain below is the paired difference, pooled over families. It shows when in-context learning appears."));
        page.Chart("during-training", "score at the largest k minus score at k=0, while training", "step", "gain",
            [.. scored.Select(a => new StudySeries(a.Name, [.. findings.DuringTraining(a).Select(p => StudyPoint.Of(p.Step, p.Gain))]))]);
        page.Table(["step", "IT at k = 0", "IT at the largest k", "gain"],
            [.. findings.DuringTraining(findings.Arm("it")).Select(p => (IReadOnlyList<string>)[Text($"{p.Step}"), p.ZeroShot.ToString(), p.LargestK.ToString(), p.Gain.ToSignedString()])]);

        page.Heading("Accuracy over k, per family, beside the optimal learner");
        var average = findings.Curve(findings.Arms[0], ManyShotFindings.Average);
        page.Chart("k-average", Text($"average over families (k up to {average[^1].K}, where every family fits)"), "k (demonstrations)", "accuracy",
            [.. findings.Arms.Append(findings.Solver).Select(a => new StudySeries(a.Name, [.. findings.Curve(a, ManyShotFindings.Average).Select(p => StudyPoint.Of(p.K, p.Score))], a == findings.Solver))], categoricalX: true);
        foreach (var f in findings.Items.Families)
            page.Chart("k-" + f.Family.Name, Text($"{f.Family.Name} (k up to {f.Shots[^1]})"), "k (demonstrations)", "accuracy",
                [.. findings.Arms.Append(findings.Solver).Select(a => new StudySeries(a.Name, [.. findings.Curve(a, f.Family.Name).Select(p => StudyPoint.Of(p.K, p.Score))], a == findings.Solver))], categoricalX: true);

        var headline = findings.DrIclMinusIt.First(p => p.Family == ManyShotFindings.Average);
        page.Heading(Text($"Does DrICL beat IT at k >= {ManyShotPlan.ManyShotFrom}?"));
        page.Paragraph(Text($"Averaged over {string.Join(", ", findings.ManyShotFamilies)}: DrICL - IT = {headline.Difference.ToSignedString()}: ") +
            (headline.Verdict == "higher" ? "DrICL is better than IT at this scale." : headline.Verdict == "lower" ? "DrICL is worse than IT at this scale." : "no difference is detectable at this scale; the paper's claim is neither confirmed nor refuted here."));
        page.Table(["family", "DrICL - IT", "verdict", "MetaICL - IT", "verdict"],
            [.. findings.DrIclMinusIt.Zip(findings.MetaIclMinusIt, (d, m) => (IReadOnlyList<string>)[d.Family, d.Difference.ToSignedString(), d.Verdict, m.Difference.ToSignedString(), m.Verdict])]);

        page.Heading("Sensitivity of DrICL to alpha, gamma and the window");
        page.Paragraph(Text($"One factor at a time around the default (alpha {ManyShotArm.Defaults.Alpha}, gamma {ManyShotArm.Defaults.Gamma}, window {ManyShotArm.Defaults.Window}), ") +
            Text($"each point and the default trained for {plan.SweepSteps} steps (the main arms: {plan.Steps}) on the same {seeds} seeds and scored on the same items. ") +
            Text($"Score pooled over k >= {ManyShotPlan.ManyShotFrom} and the families; the default scores {findings.DefaultDrIclManyShot}."));
        foreach (var factor in findings.SweepPoints.Select(p => p.Arm.Factor!).Distinct())
        {
            var points = findings.SweepPoints.Where(p => p.Arm.Factor == factor).Select(p => StudyPoint.Of(FactorValue(p.Arm.DrIcl, factor), p.Score))
                .Append(StudyPoint.Of(FactorValue(ManyShotArm.Defaults, factor), findings.DefaultDrIclManyShot)).OrderBy(p => p.X).ToList();
            page.Chart("sweep-" + factor, Text($"DrICL score at k >= {ManyShotPlan.ManyShotFrom} over {factor}"), factor, "accuracy", [new StudySeries("dricl", points)], categoricalX: true);
        }
        page.Table(["setting", Text($"score (k >= {ManyShotPlan.ManyShotFrom})"), "minus default", "verdict"],
            [(IReadOnlyList<string>)["default", findings.DefaultDrIclManyShot.ToString(), "", ""],
             .. findings.SweepPoints.Select(p => (IReadOnlyList<string>)[p.Arm.Name, p.Score.ToString(), p.MinusDefault.ToSignedString(), new PairedFinding(p.Arm.Name, p.MinusDefault).Verdict])]);

        page.Heading("Cost per training step");
        page.Paragraph(Text($"Median step time over every step of every seed, measured in this run: DrICL {findings.DrIclStepCostRatio:F2}x IT ") +
            Text($"(DrICL runs a second, demonstration-isolated forward and backward pass)."));
        page.Table(["arm", "median step (s)", "relative to IT"],
            [.. findings.MedianStepSeconds.Select(p => (IReadOnlyList<string>)[p.Key, Text($"{p.Value:F3}"), Text($"{p.Value / findings.MedianStepSeconds["it"]:F2}")])]);
        page.Meta(meta);
        return page;
    }

    /// <summary>The arm's training loss averaged over seeds, then over LossPoints buckets of steps.</summary>
    static IReadOnlyList<StudyPoint> LossCurve(ArmResults arm)
    {
        int steps = arm.Training.Min(t => t.Count);
        int bucket = Math.Max(1, (int)Math.Ceiling(steps / (double)LossPoints));
        return [.. Enumerable.Range(0, (steps + bucket - 1) / bucket).Select(b =>
        {
            var range = Enumerable.Range(b * bucket, Math.Min(bucket, steps - b * bucket));
            double y = range.Average(i => arm.Training.Average(t => t[i].Loss));
            return new StudyPoint(range.Last() + 1, y, y, y);
        })];
    }

    static double FactorValue(Objectives.DrIclOptions options, string factor) => factor switch
    {
        "alpha" => options.Alpha,
        "gamma" => options.Gamma,
        "window" => options.Window,
        _ => throw new ArgumentException($"unknown DrICL factor '{factor}'"),
    };

    static string Text(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
