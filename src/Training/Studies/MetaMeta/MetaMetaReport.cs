using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DrICL.Training.Studies.MetaMeta;

/// <summary>
/// Writes a meta-meta run's results.json (every number of the report, the raw per-seed scores too) and report.html, and
/// logs the headline: per domain size, both arms' validation accuracy over all domains and their paired difference.
/// Every sentence's numbers and verdicts come from the run.
/// </summary>
public static class MetaMetaReport
{
    const string PlainArm = "fine-tuned from base";
    const string MetaMetaArm = "fine-tuned from meta-meta init";
    const string BaseArm = "base (not fine-tuned)";
    const string SolverArm = "optimal learner";
    /// <summary>Points drawn of the base model's loss curve (results.json keeps every step).</summary>
    const int LossPoints = 100;

    public static void Write(string outputDir, MetaMetaScores scores, string device, double seconds, TextWriter log)
    {
        var plan = scores.Plan;
        var all = AllDomains(scores);
        var json = new JsonObject
        {
            ["study"] = "meta-meta",
            ["plan"] = Plan(scores),
            ["device"] = device,
            ["seconds"] = Math.Round(seconds, 1),
            ["all_domains"] = all.Json,
            ["domains"] = new JsonArray([.. plan.Domains.Select((_, d) => (JsonNode)Domain(scores, d).Json)]),
            ["base_loss"] = new JsonArray([.. scores.BaseLoss.Select(run => (JsonNode)new JsonArray([.. run.Select(loss => (JsonNode)Math.Round(loss, 5))]))]),
        };
        Directory.CreateDirectory(outputDir);
        File.WriteAllText(Path.Combine(outputDir, "results.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        foreach (var line in Findings(scores, all)) log.WriteLine(line);
        Page(scores, all, seconds).Write(Path.Combine(outputDir, "report.html"));
    }

    /// <summary>An arm's results on one domain (or all): intervals for the report, raw scores for the record.</summary>
    sealed record Summary(Interval Base, Interval Initialization, double Solver, Interval[] Plain, Interval[] MetaMeta, Interval[] Difference, Interval[] FineTuningGain, JsonObject Json);

    static Summary Summarize(MetaMetaPlan plan, string name, double[][] baseScores, double[][] initScores, double[] solver, double[][][] plain, double[][][] metaMeta)
    {
        var sizes = Enumerable.Range(0, plan.Sizes.Count).ToArray();
        var summary = new Summary(Bootstrap.Mean(baseScores), Bootstrap.Mean(initScores), solver.Average(),
            [.. sizes.Select(s => Bootstrap.Mean(plain[s]))], [.. sizes.Select(s => Bootstrap.Mean(metaMeta[s]))],
            [.. sizes.Select(s => Bootstrap.PairedDifference(metaMeta[s], plain[s]))], [.. sizes.Select(s => Bootstrap.PairedDifference(plain[s], baseScores))],
            new JsonObject());
        summary.Json["name"] = name;
        summary.Json["base"] = summary.Base.ToJson();
        summary.Json["initialization"] = summary.Initialization.ToJson();
        summary.Json["solver"] = summary.Solver;
        summary.Json["sizes"] = new JsonArray([.. sizes.Select(s => (JsonNode)new JsonObject
        {
            ["tasks"] = plan.Sizes[s],
            ["plain"] = summary.Plain[s].ToJson(),
            ["meta_meta"] = summary.MetaMeta[s].ToJson(),
            ["difference_meta_meta_minus_plain"] = summary.Difference[s].ToJson(),
            ["fine_tuning_gain_plain_minus_base"] = summary.FineTuningGain[s].ToJson(),
        })]);
        return summary;
    }

    static Summary AllDomains(MetaMetaScores scores)
    {
        var domains = Enumerable.Range(0, scores.Plan.Domains.Count).ToArray();
        return Summarize(scores.Plan, "all domains",
            MetaMetaScores.AcrossDomains(scores.Base), MetaMetaScores.AcrossDomains(scores.Initialization), [.. scores.Solver.SelectMany(s => s)],
            [.. scores.Plan.Sizes.Select((_, s) => MetaMetaScores.AcrossDomains(domains.Select(d => scores.Plain[d][s])))],
            [.. scores.Plan.Sizes.Select((_, s) => MetaMetaScores.AcrossDomains(domains.Select(d => scores.MetaMeta[d][s])))]);
    }

    static Summary Domain(MetaMetaScores scores, int d)
    {
        var summary = Summarize(scores.Plan, scores.Plan.Domains[d].Name, scores.Base[d], scores.Initialization[d], scores.Solver[d], scores.Plain[d], scores.MetaMeta[d]);
        summary.Json["base_scores"] = Raw(scores.Base[d]);
        summary.Json["initialization_scores"] = Raw(scores.Initialization[d]);
        summary.Json["solver_scores"] = new JsonArray([.. scores.Solver[d].Select(x => (JsonNode)x)]);
        var sizes = (JsonArray)summary.Json["sizes"]!;
        for (int s = 0; s < scores.Plan.Sizes.Count; s++)
        {
            sizes[s]!["plain_scores"] = Raw(scores.Plain[d][s]);
            sizes[s]!["meta_meta_scores"] = Raw(scores.MetaMeta[d][s]);
        }
        return summary;
    }

    static JsonArray Raw(double[][] scores) => new([.. scores.Select(seed => (JsonNode)new JsonArray([.. seed.Select(x => (JsonNode)x)]))]);

    static JsonObject Plan(MetaMetaScores scores)
    {
        var plan = scores.Plan;
        return new JsonObject
        {
            ["domains"] = new JsonArray([.. plan.Domains.Select(d => (JsonNode)d.Name)]),
            ["model"] = $"Llama, {plan.Model.Layers} layers, d={plan.Model.HiddenSize}, {plan.Model.Heads} heads, MLP {plan.Model.IntermediateSize}, byte vocabulary",
            ["context"] = plan.Seq,
            ["rows"] = plan.Rows,
            ["sizes"] = new JsonArray([.. plan.Sizes.Select(n => (JsonNode)n)]),
            ["seeds"] = scores.Seeds,
            ["base_steps"] = plan.BaseSteps,
            ["base_learning_rate"] = plan.LearningRate,
            ["reptile_rounds"] = plan.ReptileRounds,
            ["inner_steps"] = plan.InnerSteps,
            ["outer_step"] = plan.OuterStep,
            ["fine_tuning_steps"] = plan.AdaptSteps,
            ["fine_tuning_learning_rate"] = plan.AdaptLearningRate,
            ["examples_per_task"] = plan.PoolSize,
            ["validation_tasks_per_domain"] = plan.ValidationTasks,
            ["queries_per_validation_task"] = Synthetic.SyntheticSuite.QueriesPerLatent,
            ["shots"] = plan.Shots,
            ["default_budget_minutes"] = MetaMetaPlan.DefaultMinutes,
        };
    }

    static string Verdict(Interval difference) =>
        difference.AboveZero ? "the meta-meta initialization is ahead (the interval excludes 0)"
        : difference.BelowZero ? "plain fine-tuning is ahead (the interval excludes 0)"
        : "no difference is settled (the interval contains 0)";

    static IEnumerable<string> Findings(MetaMetaScores scores, Summary all)
    {
        var plan = scores.Plan;
        yield return $"all domains, validation accuracy at {plan.Shots} shots: base {all.Base}, meta-meta init before fine-tuning {all.Initialization}, optimal learner {Fixed(all.Solver)}";
        for (int s = 0; s < plan.Sizes.Count; s++)
            yield return $"  {plan.Sizes[s],5} tasks: plain {all.Plain[s]}, meta-meta {all.MetaMeta[s]}, meta-meta - plain {all.Difference[s].ToSignedString()}: {Verdict(all.Difference[s])}";
    }

    static StudyPage Page(MetaMetaScores scores, Summary all, double seconds)
    {
        var plan = scores.Plan;
        var domains = Enumerable.Range(0, plan.Domains.Count).Select(d => Domain(scores, d)).ToArray();
        var page = new StudyPage("Meta-meta-learning: adapting an ICL model to domains with few tasks");
        page.Paragraph(
            $"Domains are task families of the synthetic suite ({string.Join(", ", plan.Domains.Select(d => d.Name))}; family/difficulty), each with its own training tasks " +
            $"(training-side latents, {plan.PoolSize} examples each) and validation tasks ({plan.ValidationTasks} test-side latents x {Synthetic.SyntheticSuite.QueriesPerLatent} queries, " +
            $"{plan.Shots} shots each: latents no training task uses). Per training seed ({scores.Seeds} seeds), a {plan.Model.Layers}-layer Llama (d={plan.Model.HiddenSize}) " +
            $"is trained for {plan.BaseSteps} steps of {plan.Rows} x {plan.Seq} byte tokens on the mixture of all domains (the base model). Then for each domain and each domain size " +
            $"n in {{{string.Join(", ", plan.Sizes)}}} tasks, two arms fine-tune for {plan.AdaptSteps} steps on the same batches of the domain's first n tasks: (a) from the base model, " +
            $"(b) from a meta-meta-learned initialization: first-order Reptile from the base model across the other domains only, {plan.ReptileRounds} rounds of " +
            $"{plan.InnerSteps} inner steps, outer step {plan.OuterStep} decaying to 0. The answer is the label with the largest logit. Bars are 95% two-stage bootstrap intervals over " +
            $"training seeds and validation items; differences are paired (same seeds, data and items). The default plan is sized for {MetaMetaPlan.DefaultMinutes} minutes on 2 cores; " +
            $"this run took {seconds / 60:F1} minutes.");
        page.Heading("What holds at this scale");
        page.Paragraph(string.Join("\n\n", Headline(plan, all)));
        var sizes = plan.Sizes.Select(n => (double)n).ToArray();
        StudySeries Line(string name, Interval[] intervals) => new(name, [.. intervals.Select((interval, s) => StudyPoint.Of(sizes[s], interval))]);
        StudySeries Flat(string name, Interval interval) => new(name, [.. sizes.Select(x => StudyPoint.Of(x, interval))], Dashed: true);
        StudySeries FlatValue(string name, double value) => new(name, [.. sizes.Select(x => new StudyPoint(x, value))], Dashed: true);
        IReadOnlyList<StudySeries> Arms(Summary summary) =>
            [Line(PlainArm, summary.Plain), Line(MetaMetaArm, summary.MetaMeta), Flat(BaseArm, summary.Base), FlatValue(SolverArm, summary.Solver)];
        page.Chart("all-domains", "All domains: validation accuracy", "domain size (tasks)", "accuracy", Arms(all), categoricalX: true);
        page.Chart("difference", "Meta-meta minus plain (paired)", "domain size (tasks)", "accuracy difference",
            [Line("all domains", all.Difference), .. domains.Select(domain => Line((string)domain.Json["name"]!, domain.Difference))], categoricalX: true);
        for (int d = 0; d < domains.Length; d++)
            page.Chart($"domain-{d}", $"{plan.Domains[d].Name}: validation accuracy", "domain size (tasks)", "accuracy", Arms(domains[d]), categoricalX: true);
        int every = Math.Max(1, plan.BaseSteps / LossPoints);
        page.Chart("base-loss", "Base model training loss (mean over seeds)", "step", "loss",
            [new StudySeries("base model", [.. Enumerable.Range(0, plan.BaseSteps).Where(step => step % every == 0 || step == plan.BaseSteps - 1)
                .Select(step => new StudyPoint(step + 1, scores.BaseLoss.Average(run => run[step])))])]);
        page.Table(["domain", "tasks", PlainArm, MetaMetaArm, "meta-meta - plain", "plain - base"],
            [.. domains.Prepend(all).SelectMany(summary => plan.Sizes.Select((n, s) => (IReadOnlyList<string>)
                [(string)summary.Json["name"]!, n.ToString(CultureInfo.InvariantCulture), summary.Plain[s].ToString(), summary.MetaMeta[s].ToString(),
                 summary.Difference[s].ToSignedString(), summary.FineTuningGain[s].ToSignedString()]))]);
        page.Table(["domain", BaseArm, "meta-meta init, not fine-tuned", SolverArm],
            [.. domains.Prepend(all).Select(summary => (IReadOnlyList<string>)
                [(string)summary.Json["name"]!, summary.Base.ToString(), summary.Initialization.ToString(), Fixed(summary.Solver)])]);
        page.Meta(Plan(scores));
        return page;
    }

    static IEnumerable<string> Headline(MetaMetaPlan plan, Summary all)
    {
        for (int s = 0; s < plan.Sizes.Count; s++)
            yield return $"With {plan.Sizes[s]} tasks per domain, over all domains: plain fine-tuning {all.Plain[s]}, from the meta-meta initialization {all.MetaMeta[s]}; " +
                $"meta-meta minus plain {all.Difference[s].ToSignedString()}: {Verdict(all.Difference[s])}. Plain fine-tuning against the base model " +
                $"{all.FineTuningGain[s].ToSignedString()}: " + (all.FineTuningGain[s].AboveZero ? "fine-tuning on the domain helps." : all.FineTuningGain[s].BelowZero ? "fine-tuning on the domain hurts." : "fine-tuning on the domain changes nothing settled.");
        double bestArm = all.Plain.Concat(all.MetaMeta).Max(i => i.Estimate);
        double gap = all.Solver - all.Base.Estimate;
        string closed = bestArm > all.Base.Estimate && gap > 0
            ? $"the best fine-tuned arm ({Fixed(bestArm)}) closes {Fixed((bestArm - all.Base.Estimate) / gap * 100, "F0")}% of that gap."
            : $"no fine-tuned arm beats the base model on average (best {Fixed(bestArm)}).";
        yield return $"The base model scores {all.Base}, the optimal learner on the same demonstrations {Fixed(all.Solver)}: {closed} " +
            "The paper's claim is that a meta-meta-learned initialization helps most when a domain has few tasks: at this scale that holds only if the difference's " +
            $"interval lies above 0 at the smallest size ({plan.Sizes[0]} tasks), which it " + (all.Difference[0].AboveZero ? "does." : "does not.");
    }

    static string Fixed(double value, string format = "F3") => value.ToString(format, CultureInfo.InvariantCulture);
}
