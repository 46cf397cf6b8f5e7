using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// Random label mapping: per episode V words of the <see cref="Lexicon"/> each get a random label A, B, … (at least two
/// labels used), regardless of their meaning, so only the context says what a word maps to. An input is one of the V
/// words, its answer that word's label. Queries are fresh draws over the same V words: a query is answerable by copying
/// once its word has been shown, which happens with probability 1 - (1 - 1/V)^k after k shots. Difficulty:
/// (V, labels) = (4, 2), (8, 3), (12, 4).
/// </summary>
public sealed class LabelMapFamily : ISyntheticFamily
{
    static readonly int[] WordsAt = [4, 8, 12];
    static readonly int[] LabelsAt = [2, 3, 4];

    public string Name => "label-map";
    public string Instruction => "Label.";
    public string Kind => "classification";
    public string Metric => "accuracy";

    public SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries)
    {
        SyntheticSuite.CheckDifficulty(difficulty);
        ArgumentOutOfRangeException.ThrowIfNegative(examples);
        ArgumentOutOfRangeException.ThrowIfNegative(queries);
        var map = LatentSplit.Draw(Name, split, () => DrawMap(random, WordsAt[difficulty], LabelsAt[difficulty]), Describe);
        TaskExample Draw() => map[random.NextInt(map.Length)];
        var held = Enumerable.Range(0, queries).Select(_ => Draw()).ToArray();
        var shown = Enumerable.Range(0, examples).Select(_ => Draw()).ToArray();
        return new SyntheticEpisodeTask(new IclTask(Name, Instruction, Kind, shown), held, Describe(map));
    }

    /// <summary>
    /// Exact Bayes (see <see cref="ISyntheticFamily.Solve"/>). A word already shown has its shown label (a word shown with
    /// two labels fits no map). Otherwise each
    /// difficulty (V words, L labels) that can hold the m distinct shown words, the query's word and the shown labels is
    /// weighed by the chance of its map containing those m + 1 words, C(64 - m - 1, V - m - 1) / C(64, V), of the k + 1
    /// draws (1/V each), and of the m + 1 labels (1/L each, given that the map is not constant); a label's weight under it
    /// is lowered only where every shown label is that label, as the map's other words must then break the tie.
    /// </summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        var shown = demonstrations.LastOrDefault(demo => demo.Input == queryInput);
        if (shown is not null) return shown.Output;
        int words = demonstrations.Select(demo => demo.Input).Distinct().Count();
        var labels = demonstrations.Select(demo => demo.Output).Distinct().ToArray();
        var hypotheses = new List<(string, double)>();
        if (demonstrations.Distinct().Count() > words) return LatentPosterior.MostProbableAnswer(hypotheses, Name);
        for (int difficulty = 0; difficulty <= SyntheticSuite.MaxDifficulty; difficulty++)
        {
            int mapSize = WordsAt[difficulty], labelCount = LabelsAt[difficulty];
            var labelSet = Enumerable.Range(0, labelCount).Select(l => ((char)('A' + l)).ToString()).ToArray();
            if (words + 1 > mapSize || labels.Except(labelSet).Any()) continue;
            double log = LatentPosterior.LogChoose(Lexicon.Words.Count - words - 1, mapSize - words - 1) - LatentPosterior.LogChoose(Lexicon.Words.Count, mapSize)
                - (demonstrations.Count + 1) * Math.Log(mapSize) - (words + 1) * Math.Log(labelCount) - Math.Log(1 - Math.Pow(labelCount, 1 - mapSize));
            foreach (string label in labelSet)
            {
                double constant = labels.All(shownLabel => shownLabel == label) ? Math.Pow(labelCount, -(mapSize - words - 1)) : 0;
                hypotheses.Add((label, log + Math.Log(1 - constant)));
            }
        }
        return LatentPosterior.MostProbableAnswer(hypotheses, Name);
    }

    /// <summary>The map as (word, label) pairs in word order, so that its description is canonical.</summary>
    static TaskExample[] DrawMap(SplitMix64 random, int words, int labels)
    {
        var chosen = random.SampleWithoutReplacement(Lexicon.Words.Count, words).Select(i => Lexicon.Words[i]).Order(StringComparer.Ordinal).ToArray();
        while (true)
        {
            var map = chosen.Select(word => new TaskExample(word, ((char)('A' + random.NextInt(labels))).ToString())).ToArray();
            if (map.Select(pair => pair.Output).Distinct().Count() > 1) return map;
        }
    }

    static string Describe(TaskExample[] map) => string.Join(' ', map.Select(pair => $"{pair.Input}={pair.Output}"));
}
