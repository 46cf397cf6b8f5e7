using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.MetaLearners;

/// <summary>
/// The study's evaluation items: item j of training seed i for a family is a test-side latent with its demonstrations
/// and one held-out query, drawn from (base seed, family, i, j) alone, never from the arm, so every arm and every
/// reference learner answers exactly the same queries after exactly the same demonstrations. k shots are the first
/// k demonstrations of the item, so the curve over k compares like with like.
/// </summary>
public sealed class EvaluationItems
{
    readonly SyntheticEpisodeTask[][] items;   // [seed][item]

    public EvaluationItems(ISyntheticFamily family, ulong baseSeed, int seeds, int itemsPerSeed, int maxShots, int difficulty)
    {
        Family = family;
        items = [.. Enumerable.Range(0, seeds).Select(s => Enumerable.Range(0, itemsPerSeed).Select(j =>
            family.Sample(new SplitMix64(SplitMix64.DeriveSeed(baseSeed, $"evaluate {family.Name} {s} {j}")), Split.Test, difficulty, maxShots, queries: 1)).ToArray())];
    }

    public ISyntheticFamily Family { get; }
    public int Seeds => items.Length;
    public int ItemsPerSeed => items[0].Length;

    public IReadOnlyList<TaskExample> Demonstrations(int seed, int item, int shots) => [.. items[seed][item].Task.Examples.Take(shots)];
    public TaskExample Query(int seed, int item) => items[seed][item].Queries[0];

    /// <summary>Every item of <paramref name="seed"/> laid out with <paramref name="shots"/> demonstrations, or null when
    /// one of them does not fit in <paramref name="maxTokens"/> with all its shots.</summary>
    public Episode[]? Episodes(int seed, int shots, EpisodeBuilder builder, int maxTokens)
    {
        var episodes = new Episode[ItemsPerSeed];
        for (int j = 0; j < episodes.Length; j++)
        {
            var task = items[seed][j].Task;
            var content = new EpisodeContent(task.Instruction, [.. task.Examples.Take(shots).Select(SyntheticSuite.Template.Render), SyntheticSuite.Template.Render(Query(seed, j))]);
            try { episodes[j] = builder.Build(content, maxTokens); }
            catch (EpisodeTooLongException) { return null; }
            if (episodes[j].DroppedDemonstrations > 0) return null;
        }
        return episodes;
    }

    /// <summary>A reference learner's scores at <paramref name="shots"/>: [seed][item], 1 for an exact answer.</summary>
    public double[][] Score(ContextLearner learner, int shots) =>
        [.. Enumerable.Range(0, Seeds).Select(s => Enumerable.Range(0, ItemsPerSeed).Select(j =>
            learner(Demonstrations(s, j, shots), Query(s, j).Input) == Query(s, j).Output ? 1.0 : 0.0).ToArray())];
}
