using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using DrICL.Kernels;
using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Objectives;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.MetaLearners;

/// <summary>
/// `dricl study meta-learners` (the ICL-models-as-meta-learners paper): the ICL model trained with instruction tuning
/// on each of a pair-wise metric, a class-prototype and an amortization family alone, and on their mixture, for the
/// same number of steps; every arm trained once per training seed from the same initialization and data stream.
/// Each family's accuracy over shots is compared with the learner built for it and with the family's Bayes-optimal
/// solver on the same items, and the mixture with the family's own arm by the paired difference mixed − single.
/// </summary>
public static class MetaLearnersStudy
{
    public const string Description = "Meta-learners: the ICL model trained on a pair-wise metric, a class-prototype and an amortization family " +
        "alone and mixed, beside nearest neighbour, class means and the maximum-likelihood fit; does mixed training keep single-family accuracy?";

    public static void Run(StudyOptions options, IDevice device, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        var plan = MetaLearnersPlan.For(options);
        var families = MetaLearnerFamily.All;
        var arms = MetaLearnersArm.For(families);
        var seeds = TrainingSeed.For(options.BaseSeed, options.Seeds);
        var tokenizer = new ByteTokenizer();
        var builder = new EpisodeBuilder(tokenizer, SyntheticSuite.Template);
        var results = new MetaLearnersResults(plan, families, seeds.Length);

        // The evaluation episodes, shared by every arm: [family][shot index][seed] → episodes of that seed's items.
        var items = families.ToDictionary(f => f.Name, f => new EvaluationItems(f.Family, options.BaseSeed, seeds.Length, plan.ItemsPerSeed, plan.Shots.Max(), plan.Difficulty));
        var episodes = new Dictionary<string, List<Episode[][]>>();
        foreach (var f in families)
        {
            episodes[f.Name] = [];
            foreach (int k in plan.Shots)
            {
                var perSeed = seeds.Select(s => items[f.Name].Episodes(s.Index, k, builder, plan.Context)).ToArray();
                if (perSeed.Any(e => e is null)) break;
                episodes[f.Name].Add([.. perSeed.Select(e => e!)]);
            }
            if (episodes[f.Name].Count == 0)
                throw new ArgumentException($"--context {plan.Context}: {f.Name} episodes with {plan.Shots[0]} shot(s) do not fit");
            results.Shots[f.Name] = plan.Shots[..episodes[f.Name].Count];
            results.Reference[f.Name] = [.. results.Shots[f.Name].Select(k => items[f.Name].Score(f.Learner, k))];
            results.Bayes[f.Name] = [.. results.Shots[f.Name].Select(k => items[f.Name].Score(f.Family.Solve, k))];
        }

        long parameters = ModelInit.Random(plan.Model, device, seeds[0].Model).ParameterCount;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"meta-learners: {arms.Count} arms x {seeds.Length} seeds, {plan.Steps} steps of {plan.Rows} x {plan.Context} tokens each, {parameters / 1e6:F2}M parameters; {plan.ItemsPerSeed} queries per family, shot count and seed at k = {string.Join(",", plan.Shots)}"));
        foreach (var arm in arms)
        {
            var watch = Stopwatch.StartNew();
            var losses = new double[seeds.Length][];
            foreach (var f in arm.Families)
                results.Model[(arm.Name, f.Name)] = [.. episodes[f.Name].Select(_ => new double[seeds.Length][])];
            foreach (var seed in seeds)
            {
                var model = ModelInit.Random(plan.Model, device, seed.Model);
                var steps = StudyTraining.Train(model, ObjectiveCatalog.Create("it", new DrIclOptions()),
                    p => arm.Suite.TrainingBatch(p, plan.Rows, plan.Context, seed.Data, tokenizer), plan.Steps, plan.LearningRate);
                losses[seed.Index] = [.. steps.Select(r => r.Loss)];
                foreach (var f in arm.Families)
                    for (int i = 0; i < episodes[f.Name].Count; i++)
                        results.Model[(arm.Name, f.Name)][i][seed.Index] =
                            [.. TeacherForcedAnswers.Score(model, episodes[f.Name][i][seed.Index]).Select(answers => answers[^1].Correct ? 1.0 : 0.0)];
                string scores = string.Join(", ", arm.Families.Select(f =>
                    string.Create(CultureInfo.InvariantCulture, $"{f.Name} {results.Model[(arm.Name, f.Name)][^1][seed.Index].Average():F2} at k={results.Shots[f.Name][^1]}")));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {arm.Name} seed {seed.Index}: loss {steps[0].Loss:F3} -> {steps[^1].Loss:F3}, {steps[^1].ElapsedSeconds / steps.Count * 1000:F0} ms/step; {scores}"));
            }
            results.Loss[arm.Name] = losses;
            results.Seconds[arm.Name] = watch.Elapsed.TotalSeconds;
        }

        var meta = new JsonObject
        {
            ["model"] = $"Llama, {plan.Model.Layers} layers, d={plan.Model.HiddenSize}, {plan.Model.Heads} heads, MLP {plan.Model.IntermediateSize}, byte vocabulary",
            ["parameters"] = parameters,
            ["objective"] = "it (instruction tuning: loss on every answer)",
            ["steps_per_run"] = plan.Steps,
            ["batch"] = $"{plan.Rows} x {plan.Context} tokens",
            ["learning_rate"] = plan.LearningRate,
            ["training_seeds"] = seeds.Length,
            ["items_per_seed"] = plan.ItemsPerSeed,
            ["difficulty"] = plan.Difficulty,
            ["budget_minutes"] = options.Quick ? null : JsonValue.Create(options.BudgetMinutes ?? MetaLearnersPlan.DefaultMinutes),
            ["quick"] = options.Quick,
            ["device"] = device.Name,
            ["total_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
        Directory.CreateDirectory(options.OutputDir);
        File.WriteAllText(Path.Combine(options.OutputDir, "results.json"), results.ToJson(meta).ToJsonString(new() { WriteIndented = true }));
        MetaLearnersReport.Page(results, meta).Write(Path.Combine(options.OutputDir, "report.html"));
        foreach (var line in MetaLearnersReport.Findings(results)) log.WriteLine(line);
    }
}
