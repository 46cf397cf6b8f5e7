using DrICL.Kernels;
using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// What training seed <see cref="Seed"/> gives every arm: the same initial weights (<see cref="NewModel"/>) and the same
/// batch at every data position (<see cref="Batch"/>), so arms trained with one seed differ only in their objective.
/// </summary>
public sealed class SeedSetup(TrainingSeed seed, ModelConfig config, IDevice device, SyntheticSuite suite, int rows)
{
    readonly ByteTokenizer tokenizer = new();

    public TrainingSeed Seed { get; } = seed;

    public Transformer NewModel() => ModelInit.Random(config, device, Seed.Model);

    /// <summary>Batch at data position p: rows episodes of the full context, from the seed's data stream.</summary>
    public TokenBatch Batch(long position) => suite.TrainingBatch(position, rows, config.MaxPositionEmbeddings, Seed.Data, tokenizer);
}
