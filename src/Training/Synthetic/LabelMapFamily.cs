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
