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

    /// <summary>
    /// Bayes with independent prototypes (see <see cref="ISyntheticFamily.Solve"/>). A demonstration of class c lies within
    /// 1 of c's prototype in every digit, so given the class's demonstrations its prototype is uniform over the box of
    /// digits in [1, 8] within 1 of all of them (512 points for a class not yet shown), and the chance of the shown
    /// inputs is box size / 512 per class (times constants). The query's class c is weighed by the share of c's box
    /// within 1 of the query; the class count C (2, 3 or 4, at least the letters shown) by (1/C)^(shots + 1) and the boxes.
    /// Nearest class mean is a close approximation of this. Inexact only in ignoring that prototypes must be 3 apart in
    /// some digit (the prior rejects about 15% of pairs), which matters mostly for classes with few demonstrations.
    /// </summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        int maxClasses = ClassesAt[^1];
        var low = new int[maxClasses, Dimension];
        var high = new int[maxClasses, Dimension];
        for (int c = 0; c < maxClasses; c++)
            for (int i = 0; i < Dimension; i++) (low[c, i], high[c, i]) = (1, 8);
        int shownClasses = 0;
        foreach (var demo in demonstrations)
        {
            int c = demo.Output[0] - 'A';
            if (demo.Output.Length != 1 || c is < 0 || c >= maxClasses)
                throw new ArgumentException($"{Name}: label \"{demo.Output}\" is not one of the family's classes");
            shownClasses = Math.Max(shownClasses, c + 1);
            for (int i = 0; i < Dimension; i++)
            {
                int digit = demo.Input[i] - '0';
                low[c, i] = Math.Max(low[c, i], digit - 1);
                high[c, i] = Math.Min(high[c, i], digit + 1);
            }
        }
        // Points of class c's box (near = only those within 1 of the query).
        int BoxSize(int c, bool near)
        {
            int size = 1;
            for (int i = 0; i < Dimension; i++)
            {
                int q = queryInput[i] - '0';
                int from = near ? Math.Max(low[c, i], q - 1) : low[c, i], to = near ? Math.Min(high[c, i], q + 1) : high[c, i];
                size *= Math.Max(0, to - from + 1);
            }
            return size;
        }
        var hypotheses = new List<(string, double)>();
        foreach (int classes in ClassesAt.Where(classes => classes >= shownClasses))
        {
            var sizes = Enumerable.Range(0, classes).Select(c => BoxSize(c, near: false)).ToArray();
            if (sizes.Contains(0)) continue;
            double log = -(demonstrations.Count + 1) * Math.Log(classes) + sizes.Sum(size => Math.Log(size / Math.Pow(8, Dimension)));
            for (int c = 0; c < classes; c++) hypotheses.Add((Label(c), log + Math.Log(BoxSize(c, near: true) / (double)sizes[c])));
        }
        return LatentPosterior.MostProbableAnswer(hypotheses, Name);
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
