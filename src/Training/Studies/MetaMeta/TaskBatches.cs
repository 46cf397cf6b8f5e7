using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.MetaMeta;

/// <summary>
/// ICL training batches of the meta-meta study: each row is one episode, its examples drawn from one task in a random
/// order and laid out with the suite's template until the row's <c>seq</c> tokens are full (the builder drops leading
/// demonstrations that do not fit); the last demonstration is the query. Row r of batch p is a pure function of
/// (seed, p, r), so two arms given the same seed see the same batches.
/// </summary>
public static class TaskBatches
{
    /// <summary>Batches from a fixed task set: each row picks one of <paramref name="tasks"/> (each a pool of examples).</summary>
    public static Func<long, TokenBatch> FromTasks(MetaMetaDomain domain, IReadOnlyList<IReadOnlyList<TaskExample>> tasks, int rows, int seq, ulong seed) =>
        Rows(rows, seq, seed, random =>
        {
            var pool = tasks[random.NextInt(tasks.Count)];
            var order = random.SampleWithoutReplacement(pool.Count, pool.Count);
            return (domain.Family.Instruction, [.. order.Select(i => pool[i])]);
        });

    /// <summary>
    /// Batches from the mixture of <paramref name="domains"/> (rows take turns) with a fresh training-side latent per row:
    /// the base model's data, tasks without limit.
    /// </summary>
    public static Func<long, TokenBatch> FromMixture(IReadOnlyList<MetaMetaDomain> domains, int poolSize, int rows, int seq, ulong seed) =>
        Rows(rows, seq, seed, (random, row) =>
        {
            var domain = domains[(int)(row % domains.Count)];
            return (domain.Family.Instruction, domain.Family.Sample(random, Split.Train, domain.Difficulty, poolSize, queries: 0).Task.Examples);
        });

    static Func<long, TokenBatch> Rows(int rows, int seq, ulong seed, Func<SplitMix64, (string Instruction, IReadOnlyList<TaskExample> Examples)> episode) =>
        Rows(rows, seq, seed, (random, _) => episode(random));

    static Func<long, TokenBatch> Rows(int rows, int seq, ulong seed, Func<SplitMix64, long, (string Instruction, IReadOnlyList<TaskExample> Examples)> episode)
    {
        var builder = new EpisodeBuilder(new ByteTokenizer(), SyntheticSuite.Template);
        var packer = new EpisodePacker(seq, ByteTokenizer.PadId);
        return position => packer.Pack([.. Enumerable.Range(0, rows).Select(row =>
        {
            long index = position * rows + row;
            var (instruction, examples) = episode(new SplitMix64(SplitMix64.DeriveSeed(seed, $"row {index}")), index);
            return builder.Build(new EpisodeContent(instruction, [.. examples.Select(SyntheticSuite.Template.Render)]), seq);
        })], rows).ToTokenBatch();
    }
}
