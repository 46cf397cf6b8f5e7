using DrICL.Model;

namespace DrICL.Training.Studies;

/// <summary>
/// Settings every study shares (`dricl study NAME ...`). Each study owns its default plan (model, steps, shots);
/// these only scale it: the budget multiplies the default plan's training steps, the size flags replace the default
/// model's dimensions, and Quick swaps in the study's tiny plan for tests.
/// </summary>
public sealed record StudyOptions
{
    public string OutputDir { get; init; } = "study-out";

    /// <summary>Nominal minutes on a 2-core machine; null runs the study's default plan.</summary>
    public double? BudgetMinutes { get; init; }

    /// <summary>The study's tiny plan: the same code path in seconds, for tests.</summary>
    public bool Quick { get; init; }

    /// <summary>Training seeds per arm; every arm trains once per seed.</summary>
    public int Seeds { get; init; } = 3;

    public ulong BaseSeed { get; init; } = 1;

    public int? Layers { get; init; }
    public int? Dim { get; init; }
    public int? Heads { get; init; }
    public int? Context { get; init; }

    /// <summary>
    /// The study's default model with the size flags applied: hidden = Dim, intermediate = 3 × Dim, max positions
    /// (the study's context) = Context. The one place a study gets its model config from.
    /// </summary>
    public ModelConfig Model(ModelConfig defaults)
    {
        int dim = Dim ?? defaults.HiddenSize, heads = Heads ?? defaults.Heads;
        if (dim % heads != 0) throw new ArgumentException($"--heads {heads} does not divide --dim {dim}");
        if (dim / heads % 2 != 0) throw new ArgumentException($"--dim {dim} / --heads {heads} gives an odd head size {dim / heads}; RoPE rotates pairs");
        return new ModelConfig(defaults.VocabSize, dim, Dim is null ? defaults.IntermediateSize : 3 * dim, Layers ?? defaults.Layers, heads,
            maxPositionEmbeddings: Context ?? defaults.MaxPositionEmbeddings, bosTokenId: defaults.BosTokenId, eosTokenId: defaults.EosTokenId);
    }

    /// <summary>
    /// A step count of the default plan scaled by budget / the study's default budget, at least 1. Deterministic, so
    /// the same budget gives the same steps, and the same numbers, on any machine.
    /// </summary>
    public int ScaleSteps(int defaultSteps, double defaultMinutes) =>
        Math.Max(1, (int)Math.Round(defaultSteps * (BudgetMinutes ?? defaultMinutes) / defaultMinutes));
}
