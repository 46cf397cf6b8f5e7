using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// Class-prototype classification: per episode C prototypes, 3-digit vectors with digits in [1, 8], labelled A, B, …;
/// an input is a prototype plus noise in [-1, 1] on each digit, written "372", its answer the prototype's letter. Any
/// two prototypes differ by at least 3 in some digit, so every input lies within 1 of exactly one prototype; matching a
/// query to the nearest demonstrations recovers its class. Difficulty: C = 2, 3, 4. Queries are held-out inputs.
/// </summary>
public sealed class PrototypeFamily : ISyntheticFamily
{
    const int Dimension = 3;
    const int Separation = 3;
    static readonly int[] ClassesAt = [2, 3, 4];

    public string Name => "prototype";
    public string Instruction => "Classify.";
    public string Kind => "classification";
    public string Metric => "accuracy";

    public SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries)
    {
        SyntheticSuite.CheckDifficulty(difficulty);
        var prototypes = LatentSplit.Draw(Name, split, () => Prototypes(random, ClassesAt[difficulty]), Describe);
        return HeldOutExamples.Draw(this, Describe(prototypes), () => Example(random, prototypes), examples, queries);
    }

    static string Describe(int[][] prototypes) =>
        string.Join(' ', prototypes.Select((prototype, c) => $"{Label(c)}={string.Concat(prototype)}"));

    static string Label(int c) => ((char)('A' + c)).ToString();

    static int[][] Prototypes(SplitMix64 random, int classes)
    {
        while (true)
        {
            var prototypes = new int[classes][];
            for (int c = 0; c < classes; c++)
            {
                prototypes[c] = new int[Dimension];
                for (int i = 0; i < Dimension; i++) prototypes[c][i] = 1 + random.NextInt(8);
            }
            if (WellSeparated(prototypes)) return prototypes;
        }
    }

    static bool WellSeparated(int[][] prototypes)
    {
        for (int a = 0; a < prototypes.Length; a++)
            for (int b = a + 1; b < prototypes.Length; b++)
                if (!prototypes[a].Zip(prototypes[b]).Any(pair => Math.Abs(pair.First - pair.Second) >= Separation)) return false;
        return true;
    }

    static TaskExample Example(SplitMix64 random, int[][] prototypes)
    {
        int c = random.NextInt(prototypes.Length);
        var digits = prototypes[c].Select(digit => (char)('0' + digit + random.NextInt(3) - 1));
        return new TaskExample(string.Concat(digits), Label(c));
    }
}
