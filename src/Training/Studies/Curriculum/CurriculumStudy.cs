using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using DrICL.Kernels;
using DrICL.Model;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies;

/// <summary>
/// `dricl study curriculum` (the meta-learning paper's curriculum): in-context sparse linear regression
/// (<see cref="SparseLinearFamily"/>) trained with a curriculum over the number of non-zero weights (one, then two, …,
/// then all, over the first part of training) and without one (all non-zero from the start), each arm once per
/// training seed from the same initialization and data seeds. Measured on a fixed held-out set at the full difficulty:
/// the loss along training (so the steps to reach a loss threshold) and the final accuracy, beside the optimal learner.
/// </summary>
public static class CurriculumStudy
{
    public const string Description = "Curriculum: in-context sparse linear regression with the number of non-zero weights rising over training, " +
        "against all of them from the start; steps to a held-out loss threshold and final accuracy at the full difficulty, beside the optimal learner";

    public static void Run(StudyOptions options, IDevice device, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        var plan = CurriculumPlan.For(options);
        var episodes = new SparseLinearEpisodes(plan.Context);
        var seeds = TrainingSeed.For(options.BaseSeed, options.Seeds);
        // Held-out items depend on (seed index, item index) only: every arm is measured on the same ones.
        var items = seeds.Select(seed => Enumerable.Range(0, plan.Items)
            .Select(i => episodes.Evaluation(SplitMix64.DeriveSeed(options.BaseSeed, $"evaluation {seed.Index}"), i)).ToArray()).ToArray();
        var posterior = new SparseLinearPosterior([SparseLinearFamily.MaxDifficulty]);
        var optimal = items.Select(perSeed => OptimalLearnerScores.Score(posterior, perSeed)).ToArray();
        var priorLoss = items.Select(perSeed => OptimalLearnerScores.PriorLoss(posterior, perSeed)).ToArray();
        var curriculum = episodes.Curriculum(plan.RampFraction);

        long parameters = ModelInit.Random(plan.Model, device, seeds[0].Model).ParameterCount;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"curriculum: 2 arms x {seeds.Length} seeds, {plan.Steps} steps of {plan.Rows} x {plan.Context} tokens each, {parameters / 1e6:F2}M parameters; " +
            $"{episodes.Shots} shots per query, {plan.Items} held-out items per seed at {SparseLinearFamily.MaxDifficulty} non-zero weights"));
        var runs = new Dictionary<string, CurriculumRun[]>();
        var seconds = new JsonObject();
        foreach (var arm in CurriculumResults.Arms)
        {
            var watch = Stopwatch.StartNew();
            runs[arm] = [.. seeds.Select(seed =>
            {
                var run = CurriculumRun.Train(plan, episodes, arm == CurriculumResults.WithCurriculum ? curriculum : null, seed, items[seed.Index], device);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {arm} seed {seed.Index}: held-out loss {run.Curve[0].Average():F3} -> {run.Curve[^1].Average():F3}, " +
                    $"accuracy {run.Final.Average(item => item[^1].Correct ? 1.0 : 0):F3}, {run.Training[^1].ElapsedSeconds / run.Training.Count * 1000:F0} ms/step"));
                return run;
            })];
            seconds[arm] = Math.Round(watch.Elapsed.TotalSeconds, 1);
        }

        var results = new CurriculumResults(plan, episodes.Shots, optimal, priorLoss, runs);
        var meta = new JsonObject
        {
            ["model"] = $"Llama, {plan.Model.Layers} layers, d={plan.Model.HiddenSize}, {plan.Model.Heads} heads, MLP {plan.Model.IntermediateSize}, byte vocabulary",
            ["parameters"] = parameters,
            ["task"] = $"sparse-linear: x in {{-1,0,1}}^{SparseLinearFamily.Dimension}, y = w.x exact, non-zero weights in {{{string.Join(",", SparseLinearFamily.WeightValues)}}}",
            ["objective"] = "it (instruction tuning: loss on every answer)",
            ["steps_per_run"] = plan.Steps,
            ["batch"] = $"{plan.Rows} x {plan.Context} tokens",
            ["learning_rate"] = plan.LearningRate,
            ["curriculum"] = $"non-zero weights {SparseLinearFamily.MinDifficulty} to {SparseLinearFamily.MaxDifficulty}, each level an equal share of the first {plan.RampFraction * 100:F0}% of training, then all",
            ["training_seeds"] = seeds.Length,
            ["items_per_seed"] = plan.Items,
            ["budget_minutes"] = options.Quick ? null : JsonValue.Create(options.BudgetMinutes ?? CurriculumPlan.DefaultMinutes),
            ["quick"] = options.Quick,
            ["device"] = device.Name,
            ["seconds"] = seconds,
            ["total_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
        Directory.CreateDirectory(options.OutputDir);
        File.WriteAllText(Path.Combine(options.OutputDir, "results.json"), results.ToJson(meta).ToJsonString(new() { WriteIndented = true }));
        CurriculumReport.Page(results, meta).Write(Path.Combine(options.OutputDir, "report.html"));
        foreach (var line in CurriculumReport.Findings(results)) log.WriteLine(line);
    }
}
