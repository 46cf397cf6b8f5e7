using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// A family of synthetic in-context tasks: each sample draws a hidden per-episode latent (a rule), then examples
/// under it, so only the demonstrations reveal the rule. Difficulty runs from 0 to <see cref="SyntheticSuite.MaxDifficulty"/>.
/// </summary>
public interface ISyntheticFamily
{
    /// <summary>Unique lowercase name, also the tasks' name.</summary>
    string Name { get; }

    /// <summary>The short instruction written once before the demonstrations.</summary>
    string Instruction { get; }

    /// <summary>classification, regression, clustering, transformation or summarization.</summary>
    string Kind { get; }

    /// <summary>How a generated answer is scored against the expected one: accuracy (exact match) or rouge.</summary>
    string Metric { get; }

    /// <summary>
    /// Draws a latent from the <paramref name="split"/> side, then <paramref name="queries"/> held-out queries, then
    /// <paramref name="examples"/> demonstration examples. The demonstrations come last, so asking for more extends
    /// the list without changing its prefix: k and k' shots from the same generator state share the first min(k, k').
    /// </summary>
    SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries);

    /// <summary>
    /// The family's optimal learner: the answer to <paramref name="queryInput"/> that is most probable given the
    /// <paramref name="demonstrations"/> (all drawn under one latent of this family, at a difficulty the solver infers
    /// from the inputs' shape), under the family's own prior over latents and difficulties and its noise model (see
    /// <see cref="LatentPosterior"/>). It sees what an in-context learner sees and nothing else: not the difficulty, not
    /// the latent's split (its prior is over all latents), and it does not model that demonstration inputs avoid the held-out
    /// queries. With no demonstrations it answers the prior's best guess. Each family says how close to exact its
    /// solver is. Demonstrations that no latent explains are an <see cref="ArgumentException"/>.
    /// </summary>
    string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput);
}
