using DrICL.Model;

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
}
