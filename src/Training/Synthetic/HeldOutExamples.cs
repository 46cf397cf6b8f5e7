using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// Examples of one episode with held-out queries: the queries are drawn first with distinct inputs, then the
/// demonstration examples are drawn from the rest of the input space (no demonstration shows a query's input), so a
/// query is answered by applying the latent the demonstrations reveal, not by copying its own answer.
/// </summary>
static class HeldOutExamples
{
    /// <summary>Draws per example before concluding that the input space is exhausted.</summary>
    const int MaxDraws = 10_000;

    public static SyntheticEpisodeTask Draw(ISyntheticFamily family, string latent, Func<TaskExample> draw, int examples, int queries)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(examples);
        ArgumentOutOfRangeException.ThrowIfNegative(queries);
        var queryInputs = new HashSet<string>(StringComparer.Ordinal);
        var held = new TaskExample[queries];
        for (int q = 0; q < queries; q++)
        {
            held[q] = DrawOutside(queryInputs, draw, family.Name);
            queryInputs.Add(held[q].Input);
        }
        var shown = new TaskExample[examples];
        for (int i = 0; i < examples; i++) shown[i] = DrawOutside(queryInputs, draw, family.Name);
        return new SyntheticEpisodeTask(new IclTask(family.Name, family.Instruction, family.Kind, shown), held, latent);
    }

    static TaskExample DrawOutside(HashSet<string> inputs, Func<TaskExample> draw, string family)
    {
        for (int attempt = 0; attempt < MaxDraws; attempt++)
        {
            var example = draw();
            if (!inputs.Contains(example.Input)) return example;
        }
        throw new InvalidOperationException($"{family}: no example outside the {inputs.Count} held-out query inputs in {MaxDraws} draws");
    }
}
