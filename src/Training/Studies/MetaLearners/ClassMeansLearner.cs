using DrICL.Training.Data;

namespace DrICL.Training.Studies.MetaLearners;

/// <summary>
/// The class-means learner of the prototype family (the comparison learner for class-prototype tasks, a
/// prototypical network without the embedding): each label's prototype is the mean of its demonstrations' digit
/// vectors, and the query takes the label of the nearest mean in squared Euclidean distance (ties go to the earlier
/// label in the alphabet). Labels never shown cannot be answered; with no demonstrations it answers "A".
/// </summary>
public static class ClassMeansLearner
{
    public static string Answer(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        if (demonstrations.Count == 0) return "A";
        var query = Digits(queryInput);
        return demonstrations.GroupBy(d => d.Output).OrderBy(g => g.Key, StringComparer.Ordinal)
            .MinBy(g => SquaredDistance(Mean(g.Select(d => Digits(d.Input)).ToList()), query))!.Key;
    }

    static double[] Mean(List<int[]> vectors) =>
        [.. Enumerable.Range(0, vectors[0].Length).Select(i => vectors.Average(v => v[i]))];

    static double SquaredDistance(double[] mean, int[] x) => mean.Zip(x, (m, v) => (m - v) * (m - v)).Sum();

    static int[] Digits(string input) => [.. input.Select(c => c - '0')];
}
