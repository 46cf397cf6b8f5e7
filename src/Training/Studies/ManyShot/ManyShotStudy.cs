using System.Diagnostics;
using DrICL.Kernels;
using DrICL.Model;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// `dricl study many-shot`: does DrICL's objective make a model trained from scratch better at many shots than
/// instruction tuning? For each training seed, the untrained model, IT, MetaICL, DrICL and the DrICL sensitivity
/// points are trained from the same initialization on the same batches, then scored on the same held-out items at
/// every k that fits the context, beside each family's optimal learner given the same demonstrations.
/// </summary>
public static class ManyShotStudy
{
    public const string Description = "None, IT, MetaICL and DrICL trained from scratch on the single-token synthetic families, k up to 100 in 1024 tokens, " +
        "beside each family's optimal learner, with IT's in-context gain while training; DrICL's alpha/gamma/window sweep and step cost";

    public static void Run(StudyOptions options, IDevice device, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        var plan = ManyShotPlan.For(options);
        var config = ManyShotPlan.Model(options);
        int context = config.MaxPositionEmbeddings;
        var families = AnswerChoices.Families(new SyntheticSuite());
        var suite = new SyntheticSuite(families);
        var seeds = TrainingSeed.For(options.BaseSeed, options.Seeds);
        var items = EvaluationSet.Build(families, plan.Shots, seeds.Length, plan.Items, context);
        var solver = SolverScores.Compute(items);
        var arms = ManyShotArm.Main.Concat(ManyShotArm.Sweep).ToList();
        var none = new ArmResults("none", items);
        int[] curveSteps = plan.CurveSteps;
        var trained = arms.ToDictionary(a => a.Name, a => new ArmResults(a.Name, items, a.Factor is null ? curveSteps.Length : 0));
        log.WriteLine($"many-shot study: {families.Count} families, k up to {items.Families.Max(f => f.Shots[^1])} in {context} tokens, " +
            $"{seeds.Length} seeds x ({ManyShotArm.Main.Count} arms x {plan.Steps} steps + {ManyShotArm.Sweep.Count} DrICL settings x {plan.SweepSteps} steps) of {plan.Rows} x {context} tokens, " +
            $"{plan.Items} items per seed and family");

        for (int s = 0; s < seeds.Length; s++)
        {
            var setup = new SeedSetup(seeds[s], config, device, suite, plan.Rows);
            none.Add(s, [], Score(setup.NewModel(), items, s));
            foreach (var arm in arms)
            {
                var model = setup.NewModel();
                var results = trained[arm.Name];
                Action<StepRecord>? during = null;
                if (arm.Factor is null)
                {
                    results.AddCheckpoint(0, s, items.ScoreEnds(model, s));
                    during = r => { if (Array.IndexOf(curveSteps, r.Step) is int c and > 0) results.AddCheckpoint(c, s, items.ScoreEnds(model, s)); };
                }
                var steps = StudyTraining.Train(model, arm.Create(), setup.Batch, arm.Factor is null ? plan.Steps : plan.SweepSteps, plan.LearningRate, during);
                results.Add(s, steps, Score(model, items, s));
                log.WriteLine($"seed {s + 1}/{seeds.Length} {arm.Name}: final loss {steps[^1].Loss:F3}, {clock.Elapsed.TotalMinutes:F1} min");
            }
        }

        var findings = ManyShotFindings.Compute(items, curveSteps, none, [.. ManyShotArm.Main.Select(a => trained[a.Name])], solver,
            [.. ManyShotArm.Sweep.Select(a => (a, trained[a.Name]))]);
        Directory.CreateDirectory(options.OutputDir);
        ManyShotReport.Write(options.OutputDir, plan, config, options, device, findings, clock.Elapsed.TotalSeconds);
        foreach (var line in findings.Headlines()) log.WriteLine(line);
    }

    static double[][][] Score(Transformer model, EvaluationSet items, int seed) => [.. items.Families.Select(f => EvaluationSet.Score(model, f, seed))];
}
