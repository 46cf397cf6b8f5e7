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

    /// <summary>
    /// Exact Bayes (see <see cref="ISyntheticFamily.Solve"/>), knowing which words share a category (the fixed
    /// <see cref="Lexicon"/>, which a model learns in its weights). Demonstrations must give each shown category its own id. A query whose category a
    /// demonstration showed gets that demonstration's id. Otherwise each group count G (2, 3 or 4) that holds the m shown categories, their ids and
    /// the query's category is weighed by the chance of the k + 1 draws, (1/G)^(k + 1) (times 1/8 per word, the same for every G), and of an ordered choice of G
    /// categories putting the shown ones at their ids and the query's at a given free id, (8 - m - 1)!/(8 - G)! over
    /// 8!/(8 - G)!; every free id is equally likely under it, so fewer groups, and the smallest free id on ties, win.
    /// </summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        int query = CategoryOf(queryInput);
        var idOf = new Dictionary<int, string>();
        foreach (var demo in demonstrations) idOf[CategoryOf(demo.Input)] = demo.Output;
        var hypotheses = new List<(string, double)>();
        bool oneToOne = demonstrations.Select(demo => (CategoryOf(demo.Input), demo.Output)).Distinct().Count() == idOf.Count
            && idOf.Values.Distinct().Count() == idOf.Count;
        if (!oneToOne) return LatentPosterior.MostProbableAnswer(hypotheses, Name);
        if (idOf.TryGetValue(query, out var id)) return id;
        int shown = idOf.Count, categories = Lexicon.Categories.Count;
        foreach (int groups in GroupsAt)
        {
            var ids = Enumerable.Range(1, groups).Select(g => g.ToString()).ToArray();
            if (shown + 1 > groups || idOf.Values.Except(ids).Any()) continue;
            double log = -(demonstrations.Count + 1) * Math.Log(groups)
                + LatentPosterior.LogFalling(categories - shown - 1, groups - shown - 1) - LatentPosterior.LogFalling(categories, groups);
            foreach (string free in ids.Except(idOf.Values)) hypotheses.Add((free, log));
        }
        return LatentPosterior.MostProbableAnswer(hypotheses, Name);
    }

    static int CategoryOf(string word)
    {
        for (int c = 0; c < Lexicon.Categories.Count; c++)
            if (Lexicon.Categories[c].Words.Contains(word)) return c;
        throw new ArgumentException($"cluster: \"{word}\" is not a word of the lexicon");
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
