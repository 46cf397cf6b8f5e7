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
