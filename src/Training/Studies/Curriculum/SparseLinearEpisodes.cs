using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies;

/// <summary>One held-out evaluation item: its laid-out episode and the task it was drawn from (demonstrations, query).</summary>
public sealed record SparseLinearItem(Episode Episode, IReadOnlyList<TaskExample> Demonstrations, TaskExample Query);

/// <summary>
/// The curriculum study's episodes: <see cref="SparseLinearFamily"/> tasks written with the suite's template, every
/// episode holding <see cref="Shots"/> demonstrations and a last one (the query), as many as the longest demonstrations
/// allow in the context, so no episode ever drops one. Training episode i is a pure function of (data seed, i) and its
/// difficulty; evaluation items of (evaluation seed, item index), always at the full difficulty on test-side latents.
/// </summary>
public sealed class SparseLinearEpisodes
{
    static readonly SparseLinearFamily Family = new();

    /// <summary>"\n", the input, "=", a sign and one digit, then EOS: the longest a demonstration gets.</summary>
    const int MaxDemonstrationTokens = SparseLinearFamily.Dimension + 5;

    readonly EpisodeBuilder builder = new(new ByteTokenizer(), SyntheticSuite.Template);

    public SparseLinearEpisodes(int context)
    {
        Context = context;
        int demonstrations = (context - 1 - Family.Instruction.Length) / MaxDemonstrationTokens;
        if (demonstrations < 2)
            throw new ArgumentException($"--context {context} holds no sparse-linear demonstration and query: each takes {MaxDemonstrationTokens} tokens after the {1 + Family.Instruction.Length} of BOS and the instruction");
        Shots = demonstrations - 1;
    }

    public int Context { get; }

    /// <summary>Demonstrations before the query in every episode.</summary>
    public int Shots { get; }

    /// <summary>
    /// The curriculum over the number of non-zero weights: from one to all of them, each level holding an equal share of
    /// the first <paramref name="rampFraction"/> of training; the shots do not ramp.
    /// </summary>
    public Curriculum Curriculum(double rampFraction) =>
        new(rampFraction, Shots + 1, Shots + 1, SparseLinearFamily.MinDifficulty, SparseLinearFamily.MaxDifficulty);

    /// <summary>
    /// Training batch <paramref name="position"/>: episodes position × rows … position × rows + rows - 1. Without a
    /// curriculum every episode has all weights non-zero; with one, as in the paper, every episode is at the curriculum's
    /// current level (not a mixture below it), so after the ramp both arms train on the same distribution.
    /// </summary>
    public TokenBatch Batch(long position, int rows, ulong dataSeed, Curriculum? curriculum, long totalPositions)
    {
        var episodes = new Episode[rows];
        for (int row = 0; row < rows; row++)
        {
            long index = position * rows + row;
            int difficulty = curriculum?.At(index, totalPositions * rows).MaxDifficulty ?? SparseLinearFamily.MaxDifficulty;
            episodes[row] = Training(index, dataSeed, difficulty);
        }
        return TokenBatch.OneEpisodePerRow(episodes, Context);
    }

    /// <summary>Training episode <paramref name="index"/> at <paramref name="difficulty"/> non-zero weights, from a training-side latent.</summary>
    public Episode Training(long index, ulong dataSeed, int difficulty)
    {
        var random = new SplitMix64(SplitMix64.DeriveSeed(dataSeed, $"sparse-linear train {index}"));
        var task = Family.Sample(random, Split.Train, difficulty, Shots + 1, queries: 0).Task;
        return Layout(task.Examples);
    }

    /// <summary>Evaluation item <paramref name="item"/>: all weights non-zero, a test-side latent, <see cref="Shots"/> demonstrations and a held-out query.</summary>
    public SparseLinearItem Evaluation(ulong evaluationSeed, int item)
    {
        var random = new SplitMix64(SplitMix64.DeriveSeed(evaluationSeed, $"sparse-linear evaluation {item}"));
        var sample = Family.Sample(random, Split.Test, SparseLinearFamily.MaxDifficulty, Shots, queries: 1);
        return new SparseLinearItem(Layout([.. sample.Task.Examples, sample.Queries[0]]), sample.Task.Examples, sample.Queries[0]);
    }

    Episode Layout(IReadOnlyList<TaskExample> examples)
    {
        var episode = builder.Build(new EpisodeContent(Family.Instruction, [.. examples.Select(SyntheticSuite.Template.Render)]), Context);
        if (episode.DroppedDemonstrations > 0) throw new InvalidOperationException($"a sparse-linear episode of {examples.Count} demonstrations overflowed {Context} tokens");
        return episode;
    }
}
