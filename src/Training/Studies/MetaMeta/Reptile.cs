using DrICL.Kernels;
using DrICL.Model;
using DrICL.Training.Objectives;

namespace DrICL.Training.Studies.MetaMeta;

/// <summary>
/// The meta-meta-learned initialization: first-order Reptile (Nichol, Achiam, Schulman 2018) across domains. Each
/// round adapts a copy of the current initialization to one domain by a few steps of ICL training on that domain's
/// tasks (the inner loop: the same recipe as the fine-tuning it prepares for, with a fresh optimizer), then moves the
/// initialization a fraction of the way towards the adapted weights (the outer update). Domains take turns. The
/// result is a point from which a few steps reach a good model of any one domain, rather than the best model of their
/// mixture; no second derivatives are taken.
/// </summary>
public static class Reptile
{
    /// <param name="batches">The inner loop's batches for a domain (by its index in the turn order) and a round.</param>
    /// <param name="outerStep">The outer step size at the first round; it decays linearly towards 0 at the last, as in Reptile.</param>
    public static WeightSnapshot Initialization(WeightSnapshot start, ModelConfig config, IDevice device, IObjective objective,
        int domains, Func<int, int, Func<long, TokenBatch>> batches, int rounds, int innerSteps, float learningRate, float outerStep)
    {
        var init = start;
        for (int round = 0; round < rounds; round++)
        {
            var model = init.Build(config, device);
            StudyTraining.Train(model, objective, batches(round % domains, round), innerSteps, learningRate);
            init = init.MovedTowards(model, outerStep * (1 - (float)round / rounds));
        }
        return init;
    }
}
