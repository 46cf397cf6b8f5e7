using DrICL.Model;

namespace DrICL.Training.Synthetic;

/// <summary>Which side of the suite an episode comes from: training episodes or evaluation episodes.</summary>
public enum Split { Train, Test }

/// <summary>
/// Keeps training and evaluation latents disjoint. Every episode's latent (the hidden rule its demonstrations
/// reveal) has a canonical description, <see cref="SyntheticEpisodeTask.Latent"/>; hashing the family name and that
/// description puts one latent in four on the test side, the rest on the training side. Families draw latents
/// until one lands on the requested side, so an evaluation episode's rule (a shift, a label map, a weight vector,
/// a set of prototypes, …) is never one that any training episode used, whatever the seed.
/// </summary>
public static class LatentSplit
{
    /// <summary>One latent in <see cref="TestShare"/> goes to the test side.</summary>
    public const int TestShare = 4;

    /// <summary>Draws per requested latent before concluding that the family's latent space has no such side.</summary>
    const int MaxDraws = 10_000;

    const ulong Salt = 0x5EED_D1C1_5A17_0001UL;

    public static Split Of(string family, string latent) =>
        SplitMix64.DeriveSeed(Salt, family + "\n" + latent) % TestShare == 0 ? Split.Test : Split.Train;

    /// <summary>Draws latents until one's description falls on <paramref name="split"/>.</summary>
    public static T Draw<T>(string family, Split split, Func<T> draw, Func<T, string> describe)
    {
        for (int attempt = 0; attempt < MaxDraws; attempt++)
        {
            var latent = draw();
            if (Of(family, describe(latent)) == split) return latent;
        }
        throw new InvalidOperationException($"{family}: no latent on the {split} side in {MaxDraws} draws");
    }
}
