using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// Clustering by a hidden shared property: per episode G categories of the <see cref="Lexicon"/> form the groups and get
/// the group ids 1…G in a random order; an input is a word of one of them, its answer the word's group id. Queries are
/// held-out words that no demonstration of the episode shows, so answering needs both which words belong together
/// (learnable across training, since the categories never change) and which id the context gave their group.
/// Difficulty: G = 2, 3, 4.
/// </summary>
public sealed class CategoryClusterFamily : ISyntheticFamily
{
    static readonly int[] GroupsAt = [2, 3, 4];

    public string Name => "cluster";
    public string Instruction => "Group.";
    public string Kind => "clustering";
    public string Metric => "accuracy";

    /// <summary>The per-episode latent: group g + 1 is category <c>Lexicon.Categories[Categories[g]]</c>.</summary>
    sealed record Grouping(int[] Categories);

    public SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries)
    {
        SyntheticSuite.CheckDifficulty(difficulty);
        int groups = GroupsAt[difficulty];
        var grouping = LatentSplit.Draw(Name, split,
            () => new Grouping(random.SampleWithoutReplacement(Lexicon.Categories.Count, groups)), Describe);
        return HeldOutExamples.Draw(this, Describe(grouping), () => Example(random, grouping), examples, queries);
    }

    /// <summary>Categories in lexicon order with their ids: "animal=2 color=1".</summary>
    static string Describe(Grouping grouping) =>
        string.Join(' ', grouping.Categories.Select((category, g) => (category, g))
            .OrderBy(pair => pair.category).Select(pair => $"{Lexicon.Categories[pair.category].Name}={pair.g + 1}"));

    static TaskExample Example(SplitMix64 random, Grouping grouping)
    {
        int g = random.NextInt(grouping.Categories.Length);
        var words = Lexicon.Categories[grouping.Categories[g]].Words;
        return new TaskExample(words[random.NextInt(words.Count)], (g + 1).ToString());
    }
}
