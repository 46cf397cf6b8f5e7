using DrICL.Training.Data;

namespace DrICL.Training.Studies.MetaLearners;

/// <summary>
/// The nearest-neighbour learner of the pair-metric family (the comparison learner for pair-wise metric
/// tasks). A pair "021 310" is represented by what its label depends on, the per-position distances |a_i - b_i|
/// (here 2,1,1): two pairs are near when their distance vectors are, under the unweighted L1 distance, since the
/// learner does not know which positions the episode's metric weights. The query takes the majority label of the
/// demonstrations at the smallest distance (a tie between labels goes to the earliest of them); with no demonstrations
/// it answers "n".
/// </summary>
public static class NearestPairLearner
{
    public static string Answer(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        if (demonstrations.Count == 0) return "n";
        var query = Differences(queryInput);
        var distances = demonstrations.Select(d => Differences(d.Input).Zip(query, (u, v) => Math.Abs(u - v)).Sum()).ToArray();
        int nearest = distances.Min();
        var tied = demonstrations.Where((_, i) => distances[i] == nearest).ToList();
        return tied.GroupBy(d => d.Output).OrderByDescending(g => g.Count()).ThenBy(g => tied.IndexOf(g.First())).First().Key;
    }

    /// <summary>"021 310" → [2, 1, 1].</summary>
    static int[] Differences(string pair)
    {
        var halves = pair.Split(' ');
        return [.. halves[0].Zip(halves[1], (a, b) => Math.Abs(a - b))];
    }
}
