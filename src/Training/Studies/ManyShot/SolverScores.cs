namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// The upper reference: each family's optimal learner (<c>ISyntheticFamily.Solve</c>) answering every item from the
/// same first k demonstrations the models see, scored like them (1 for the right answer).
/// </summary>
public static class SolverScores
{
    public static ArmResults Compute(EvaluationSet items)
    {
        var solver = new ArmResults("solver", items);
        for (int s = 0; s < items.Seeds; s++)
            solver.Add(s, [], [.. items.Families.Select(f => f.Shots.Select(k => Enumerable.Range(0, items.Items).Select(i =>
            {
                var task = f.Tasks[s][i];
                var query = task.Queries[f.Queries[s][i]];
                return f.Family.Solve([.. task.Task.Examples.Take(k)], query.Input) == query.Output ? 1.0 : 0.0;
            }).ToArray()).ToArray())]);
        return solver;
    }
}
