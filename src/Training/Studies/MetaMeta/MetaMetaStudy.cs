using System.Diagnostics;
using DrICL.Kernels;
using DrICL.Model;
using DrICL.Training.Objectives;

namespace DrICL.Training.Studies.MetaMeta;

/// <summary>
/// `dricl study meta-meta`: does a meta-meta-learned initialization help an ICL model adapt to a domain that has few
/// tasks? Per training seed: a base ICL model is trained on the mixture of all domains; then for each domain and each
/// domain size n (tasks of that domain available), two arms fine-tune for the same steps on the same batches of those
/// n tasks: (a) from the base model, (b) from a first-order Reptile initialization learned from the base model across
/// the other domains only (<see cref="Reptile"/>). Both are scored on the domain's validation tasks (test-side latents,
/// never trained on) with a fixed number of shots, beside the base model and the family's optimal learner.
/// </summary>
public static class MetaMetaStudy
{
    public const string Description =
        "Meta-meta-learning: fine-tune an ICL model to each domain (task family) from 64, 256 or 1024 of its tasks, starting from the base model or from a Reptile initialization learned across the other domains; validation accuracy per domain size with 95% intervals and paired differences";

    public static void Run(StudyOptions options, IDevice device, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        var plan = MetaMetaPlan.For(options);
        var seeds = TrainingSeed.For(options.BaseSeed, options.Seeds);
        var objective = ObjectiveCatalog.Create("it", new DrIclOptions());
        var scores = new MetaMetaScores(plan, seeds.Length);
        var items = plan.Domains.Select(domain => domain.ValidationItems(plan.ValidationTasks, plan.Shots)).ToArray();
        for (int d = 0; d < plan.Domains.Count; d++)
            scores.Solver[d] = [.. items[d].Select(item => plan.Domains[d].Family.Solve(item.Demonstrations, item.Query.Input) == item.Query.Output ? 1.0 : 0.0)];
        log.WriteLine($"meta-meta: {plan.Domains.Count} domains ({string.Join(", ", plan.Domains.Select(d => d.Name))}), sizes {string.Join("/", plan.Sizes)} tasks, " +
            $"{seeds.Length} seeds; base {plan.BaseSteps} steps, Reptile {plan.ReptileRounds} x {plan.InnerSteps} steps per domain, fine-tuning {plan.AdaptSteps} steps of {plan.Rows} x {plan.Seq} tokens");

        foreach (var seed in seeds)
        {
            var model = ModelInit.Random(plan.Model, device, seed.Model);
            var mixture = TaskBatches.FromMixture(plan.Domains, plan.PoolSize, plan.Rows, plan.Seq, SplitMix64.DeriveSeed(seed.Data, "base"));
            scores.BaseLoss[seed.Index] = [.. StudyTraining.Train(model, objective, mixture, plan.BaseSteps, plan.LearningRate).Select(r => r.Loss)];
            var baseWeights = WeightSnapshot.Of(model);
            var tasks = plan.Domains.Select(domain => domain.TrainingTasks(SplitMix64.DeriveSeed(seed.Data, "tasks"), plan.Sizes.Max(), plan.PoolSize)).ToArray();
            log.WriteLine($"seed {seed.Index}: base model trained, loss {scores.BaseLoss[seed.Index][^1]:F3} ({clock.Elapsed.TotalSeconds:F0} s)");
            for (int d = 0; d < plan.Domains.Count; d++)
            {
                var domain = plan.Domains[d];
                scores.Base[d][seed.Index] = LabelScorer.Score(model, domain, items[d], plan.Seq);
                int[] others = [.. Enumerable.Range(0, plan.Domains.Count).Where(o => o != d)];
                var init = Reptile.Initialization(baseWeights, plan.Model, device, objective, others.Length,
                    (turn, round) => TaskBatches.FromTasks(plan.Domains[others[turn]], tasks[others[turn]], plan.Rows, plan.Seq,
                        SplitMix64.DeriveSeed(seed.Data, $"reptile for {domain.Name} round {round}")),
                    plan.ReptileRounds, plan.InnerSteps, plan.AdaptLearningRate, plan.OuterStep);
                scores.Initialization[d][seed.Index] = LabelScorer.Score(init.Build(plan.Model, device), domain, items[d], plan.Seq);
                for (int s = 0; s < plan.Sizes.Count; s++)
                {
                    int size = plan.Sizes[s];
                    var batches = TaskBatches.FromTasks(domain, tasks[d][..size], plan.Rows, plan.Seq, SplitMix64.DeriveSeed(seed.Data, $"adapt {domain.Name} {size}"));
                    scores.Plain[d][s][seed.Index] = FineTuned(baseWeights, plan, device, objective, batches, domain, items[d]);
                    scores.MetaMeta[d][s][seed.Index] = FineTuned(init, plan, device, objective, batches, domain, items[d]);
                }
                log.WriteLine($"seed {seed.Index}: {domain.Name} done ({clock.Elapsed.TotalSeconds:F0} s)");
            }
        }
        MetaMetaReport.Write(options.OutputDir, scores, device.Name, clock.Elapsed.TotalSeconds, log);
    }

    static double[] FineTuned(WeightSnapshot start, MetaMetaPlan plan, IDevice device, IObjective objective, Func<long, TokenBatch> batches,
        MetaMetaDomain domain, IReadOnlyList<ValidationItem> items)
    {
        var model = start.Build(plan.Model, device);
        StudyTraining.Train(model, objective, batches, plan.AdaptSteps, plan.AdaptLearningRate);
        return LabelScorer.Score(model, domain, items, plan.Seq);
    }
}
