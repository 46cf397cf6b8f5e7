using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// Extractive summarization: an input is S two-word sentences "noun verb" joined by ". " ("owl hid. sun lit"); per
/// episode a set of topic nouns, and each input has exactly one sentence about a topic: the answer is that sentence.
/// The topics are what the demonstrations' answers have in common; a wrong or partial copy still shares words with the
/// answer, which ROUGE-1/L credits. Difficulty: (S, topics) = (2, 1), (2, 2), (3, 2). Queries are held-out inputs.
/// </summary>
public sealed class ExtractiveSummaryFamily : ISyntheticFamily
{
    static readonly int[] SentencesAt = [2, 2, 3];
    static readonly int[] TopicsAt = [1, 2, 2];

    public string Name => "extract";
    public string Instruction => "Summarize.";
    public string Kind => "summarization";
    public string Metric => "rouge";

    public SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries)
    {
        SyntheticSuite.CheckDifficulty(difficulty);
        var topics = LatentSplit.Draw(Name, split,
            () => random.SampleWithoutReplacement(Lexicon.Nouns.Count, TopicsAt[difficulty]).Order().ToArray(), Describe);
        int sentences = SentencesAt[difficulty];
        return HeldOutExamples.Draw(this, Describe(topics), () => Example(random, topics, sentences), examples, queries);
    }

    static string Describe(int[] topics) => "topics=" + string.Join(',', topics.Select(noun => Lexicon.Nouns[noun]));

    /// <summary>One topic sentence at a random place among S - 1 sentences about distinct non-topic nouns.</summary>
    static TaskExample Example(SplitMix64 random, int[] topics, int sentences)
    {
        var nouns = new List<int> { topics[random.NextInt(topics.Length)] };
        while (nouns.Count < sentences)
        {
            int noun = random.NextInt(Lexicon.Nouns.Count);
            if (!topics.Contains(noun) && !nouns.Contains(noun)) nouns.Add(noun);
        }
        var text = nouns.Select(noun => $"{Lexicon.Nouns[noun]} {Lexicon.Verbs[random.NextInt(Lexicon.Verbs.Count)]}").ToArray();
        int at = random.NextInt(sentences);
        (text[0], text[at]) = (text[at], text[0]);
        return new TaskExample(string.Join(". ", text), text[at]);
    }
}
