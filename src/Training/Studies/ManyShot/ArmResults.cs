namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// What one arm produced over all training seeds: each seed's training steps (empty for the untrained arm), its
/// scores Scores[family][k index][seed][item], 1 when the model ranked the right answer first, and for an arm scored
/// while it trained, DuringTraining[checkpoint][family][end][seed][item], end 0 at the family's first k (0) and 1 at its
/// largest k.
/// </summary>
public sealed class ArmResults(string name, EvaluationSet items, int checkpoints = 0)
{
    public string Name { get; } = name;
    public List<StepRecord>[] Training { get; } = [.. Enumerable.Range(0, items.Seeds).Select(_ => new List<StepRecord>())];
    public double[][][][] Scores { get; } = [.. items.Families.Select(f => f.Shots.Select(_ => new double[items.Seeds][]).ToArray())];
    public double[][][][][] DuringTraining { get; } =
        [.. Enumerable.Range(0, checkpoints).Select(_ => items.Families.Select(_ => new[] { new double[items.Seeds][], new double[items.Seeds][] }).ToArray())];

    /// <summary>Records seed <paramref name="seed"/>'s scores [family][end][item] at checkpoint <paramref name="checkpoint"/>.</summary>
    public void AddCheckpoint(int checkpoint, int seed, double[][][] ends)
    {
        for (int f = 0; f < ends.Length; f++)
            for (int end = 0; end < 2; end++) DuringTraining[checkpoint][f][end][seed] = ends[f][end];
    }

    /// <summary>Records seed <paramref name="seed"/>'s training and its scores [family][k index][item].</summary>
    public void Add(int seed, IReadOnlyList<StepRecord> training, double[][][] scores)
    {
        Training[seed].AddRange(training);
        for (int f = 0; f < Scores.Length; f++)
            for (int k = 0; k < Scores[f].Length; k++) Scores[f][k][seed] = scores[f][k];
    }

    /// <summary>Seconds of every training step of every seed (the step time, not cumulative).</summary>
    public IEnumerable<double> StepSeconds() => Training.SelectMany(steps => steps.Select((r, i) => r.ElapsedSeconds - (i == 0 ? 0 : steps[i - 1].ElapsedSeconds)));

    /// <summary>The median training step time over all seeds (the first steps' JIT and warm-up do not move it); null when untrained.</summary>
    public double? MedianStepSeconds()
    {
        var sorted = StepSeconds().Order().ToArray();
        return sorted.Length == 0 ? null : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
