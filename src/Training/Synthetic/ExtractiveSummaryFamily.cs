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

    /// <summary>
    /// Exact Bayes (see <see cref="ISyntheticFamily.Solve"/>): every topic set (size 1 or 2 for inputs of 2 sentences,
    /// difficulties 0 and 1; size 2 for 3 sentences; uniform within a size) under which each demonstration's answer is its
    /// only sentence about a topic is weighed by the chance of the inputs: 1/|topics| for the topic noun, times one over
    /// the ordered draws of the S - 1 other nouns among the 24 - |topics| non-topic ones. The query's answer under a set is
    /// its one sentence about a topic. A sentence is the unit of the answer, so the most probable one is also the best bet
    /// for ROUGE.
    /// </summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        static string Noun(string sentence) => sentence.Split(' ')[0];
        var shown = demonstrations.Select(demo => (Nouns: demo.Input.Split(". ").Select(Noun).ToArray(), Topic: Noun(demo.Output))).ToArray();
        var query = queryInput.Split(". ");
        var hypotheses = new List<(string, double)>();
        for (int difficulty = 0; difficulty <= SyntheticSuite.MaxDifficulty; difficulty++)
        {
            if (SentencesAt[difficulty] != query.Length) continue;
            int size = TopicsAt[difficulty];
            double log = -LatentPosterior.LogChoose(Lexicon.Nouns.Count, size)
                - (shown.Length + 1) * (Math.Log(size) + LatentPosterior.LogFalling(Lexicon.Nouns.Count - size, query.Length - 1));
            foreach (var topics in TopicSets(size))
            {
                if (!shown.All(demo => topics.Contains(demo.Topic) && demo.Nouns.Count(topics.Contains) == 1)) continue;
                var about = query.Where(sentence => topics.Contains(Noun(sentence))).ToArray();
                if (about.Length == 1) hypotheses.Add((about[0], log));
            }
        }
        return LatentPosterior.MostProbableAnswer(hypotheses, Name);
    }

    /// <summary>Every set of <paramref name="size"/> distinct nouns (size 1 or 2, as the family draws).</summary>
    static IEnumerable<HashSet<string>> TopicSets(int size) =>
        from first in Enumerable.Range(0, Lexicon.Nouns.Count)
        from second in size == 1 ? [first] : Enumerable.Range(first + 1, Lexicon.Nouns.Count - first - 1)
        select new HashSet<string> { Lexicon.Nouns[first], Lexicon.Nouns[second] };

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
