using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// String transformation under a per-episode key: an input is a random lowercase string, its answer the string with
/// every letter mapped by the key. Difficulty: a Caesar shift by k in [1, 25] on 3-letter strings (one demonstration
/// reveals it); the same on 3–5 letters; a random substitution of the alphabet on 3–5 letters (each letter's image must
/// have been shown, so it takes many shots). Queries are held-out strings.
/// </summary>
public sealed class CipherFamily : ISyntheticFamily
{
    const int Letters = 26;
    const int MinLength = 3;
    static readonly int[] MaxLengthAt = [3, 5, 5];
    const int SubstitutionFrom = 2;

    public string Name => "cipher";
    public string Instruction => "Encipher.";
    public string Kind => "transformation";
    public string Metric => "accuracy";

    /// <summary>The per-episode latent: the image of each letter a…z, and whether it is a shift.</summary>
    sealed record Key(string Images, bool IsShift)
    {
        public string Describe() => IsShift ? $"shift={Images[0] - 'a'}" : $"sub={Images}";
    }

    public SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries)
    {
        SyntheticSuite.CheckDifficulty(difficulty);
        bool shift = difficulty < SubstitutionFrom;
        var key = LatentSplit.Draw(Name, split, () => shift ? Shift(random) : Substitution(random), k => k.Describe());
        int maxLength = MaxLengthAt[difficulty];
        return HeldOutExamples.Draw(this, key.Describe(), () => Example(random, key, maxLength), examples, queries);
    }

    /// <summary>
    /// Exact Bayes (see <see cref="ISyntheticFamily.Solve"/>). Letters are uniform whatever the key, so a key's weight is
    /// its prior times the chance of the lengths shown (all 3 at difficulty 0; 3–5, 1/3 each, above) if it maps every
    /// demonstration as shown. A shift (difficulties 0 and 1, 1/25 each) answers the query by its shift. A substitution
    /// (difficulty 2) agreeing with the m letter pairs shown has chance (26 - m)!/26!, and each injective completion of the
    /// query's u unseen letters (26 - m - u)!/26!: every completion is as likely, so the shifts' answers are among the most
    /// probable, and one canonical completion (unseen letters to the smallest unused images) stands for the others.
    /// </summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        var image = new Dictionary<char, char>();
        var preimage = new Dictionary<char, char>();
        bool injective = true;
        foreach (var demo in demonstrations)
            for (int i = 0; i < demo.Input.Length; i++)
            {
                char from = demo.Input[i], to = demo.Output[i];
                if (image.TryGetValue(from, out char known) ? known != to : preimage.ContainsKey(to)) injective = false;
                image[from] = to;
                preimage[to] = from;
            }
        var lengths = demonstrations.Select(demo => demo.Input.Length).Append(queryInput.Length).ToArray();
        double LogLengths(int difficulty) =>
            lengths.All(length => length >= MinLength && length <= MaxLengthAt[difficulty])
                ? -lengths.Length * Math.Log(MaxLengthAt[difficulty] - MinLength + 1) : double.NegativeInfinity;
        double logDifficulty = -Math.Log(SyntheticSuite.MaxDifficulty + 1);
        var hypotheses = new List<(string, double)>();
        var candidates = new HashSet<string>(StringComparer.Ordinal);
        for (int shift = 1; shift < Letters; shift++)
        {
            char Shifted(char c) => (char)('a' + (c - 'a' + shift) % Letters);
            if (!demonstrations.All(demo => demo.Output == string.Concat(demo.Input.Select(Shifted)))) continue;
            string answer = string.Concat(queryInput.Select(Shifted));
            candidates.Add(answer);
            for (int difficulty = 0; difficulty < SubstitutionFrom; difficulty++)
                hypotheses.Add((answer, logDifficulty - Math.Log(Letters - 1) + LogLengths(difficulty)));
        }
        if (injective)
        {
            var unused = new Queue<char>(Enumerable.Range(0, Letters).Select(i => (char)('a' + i)).Where(c => !preimage.ContainsKey(c)));
            var completed = new Dictionary<char, char>(image);
            candidates.Add(string.Concat(queryInput.Select(c => completed.TryGetValue(c, out char to) ? to : completed[c] = unused.Dequeue())));
            int unseen = completed.Count - image.Count;
            double logCompletion = logDifficulty + LogLengths(SubstitutionFrom) + LatentPosterior.LogFalling(Letters - image.Count - unseen, Letters - image.Count - unseen)
                - LatentPosterior.LogFalling(Letters, Letters);
            foreach (string answer in candidates) hypotheses.Add((answer, logCompletion));
        }
        return LatentPosterior.MostProbableAnswer(hypotheses, Name);
    }

    static Key Shift(SplitMix64 random)
    {
        int shift = 1 + random.NextInt(Letters - 1);
        return new Key(string.Concat(Enumerable.Range(0, Letters).Select(i => (char)('a' + (i + shift) % Letters))), IsShift: true);
    }

    static Key Substitution(SplitMix64 random)
    {
        var images = "abcdefghijklmnopqrstuvwxyz".ToCharArray();
        random.Shuffle(images.AsSpan());
        return new Key(new string(images), IsShift: false);
    }

    static TaskExample Example(SplitMix64 random, Key key, int maxLength)
    {
        int length = MinLength + random.NextInt(maxLength - MinLength + 1);
        var input = new char[length];
        for (int i = 0; i < length; i++) input[i] = (char)('a' + random.NextInt(Letters));
        return new TaskExample(new string(input), string.Concat(input.Select(c => key.Images[c - 'a'])));
    }
}
