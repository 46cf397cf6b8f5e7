using DrICL.Model;
using DrICL.Model.Tokenization;
using Microsoft.ML.Tokenizers;

namespace DrICL.Training.Data;

/// <summary>
/// An endless, reproducible stream of training episodes, batched by data position: batch p holds episodes
/// p*rows .. p*rows+rows-1, packed into rows as long as the longest of them (at most Seq tokens: a large
/// --seq costs nothing when the data is shorter). Because every episode is a pure function of its
/// index and the seed, a resumed run sees exactly the batches it would have seen.
/// </summary>
public sealed class TrainingData
{
    readonly Func<long, Episode> episode;
    readonly int padId;

    /// <summary>The longest row: episodes are built to fit it.</summary>
    public int Seq { get; }
    public string Description { get; }

    TrainingData(Func<long, Episode> episode, int seq, int padId, string description)
    {
        this.episode = episode;
        Seq = seq;
        this.padId = padId;
        Description = description;
    }

    public TokenBatch Batch(long position, int rows)
    {
        var episodes = new Episode[rows];
        for (int r = 0; r < rows; r++) episodes[r] = episode(position * rows + r);
        var packed = new EpisodePacker(Math.Min(Seq, episodes.Max(e => e.Length)), padId).Pack(episodes, rows);
        if (packed.EpisodeCount != rows) throw new InvalidDataException($"only {packed.EpisodeCount} of {rows} episodes fit {rows} rows of {Seq} tokens");
        return packed.ToTokenBatch();
    }

    /// <summary>ICL-50 records, each one episode (truncated from the front to fit), in a fresh seeded order every epoch.</summary>
    public static TrainingData FromIclRecords(IReadOnlyList<IclRecord> records, string source, Tokenizer tokenizer, int seq, ulong seed)
    {
        if (records.Count == 0) throw new InvalidDataException($"{source}: no usable record");
        var builder = new EpisodeBuilder(tokenizer);
        var episodes = new Episode[records.Count];
        for (int i = 0; i < records.Count; i++)
        {
            try { episodes[i] = builder.Build(records[i].ToEpisodeContent(), seq); }
            catch (EpisodeLayoutException e) { throw new InvalidDataException($"{source}: record {records[i].Id}: {e.Message}", e); }
        }
        var orders = new Dictionary<long, int[]>();
        int[] Order(long epoch)
        {
            if (orders.TryGetValue(epoch, out var order)) return order;
            order = Enumerable.Range(0, episodes.Length).ToArray();
            new SplitMix64(SplitMix64.DeriveSeed(seed, $"epoch {epoch}")).Shuffle(order.AsSpan());
            return orders[epoch] = order;
        }
        return new TrainingData(i => episodes[Order(i / episodes.Length)[i % episodes.Length]], seq, tokenizer.EosId,
            $"{records.Count} ICL records from {source}");
    }

    /// <summary>
    /// Episodes sampled from task pools' train splits: episode i picks a task and a number of demonstrations
    /// (1..maxShots, as many as fit) from a generator seeded by (seed, i).
    /// </summary>
    public static TrainingData FromTasks(IReadOnlyList<TaskSplit> tasks, string source, Tokenizer tokenizer, int seq, int maxShots, ulong seed)
    {
        if (tasks.Count == 0) throw new InvalidDataException($"{source}: no usable task");
        var builder = new EpisodeBuilder(tokenizer);
        return new TrainingData(i =>
        {
            var rng = new SplitMix64(SplitMix64.DeriveSeed(seed, $"episode {i}"));
            var split = tasks[rng.NextInt(tasks.Count)];
            int shots = 1 + rng.NextInt(Math.Min(maxShots, split.Train.Count));
            try { return builder.SampleTraining(split.Task, split.Train, shots, rng, seq); }
            catch (EpisodeLayoutException e) { throw new InvalidDataException($"{source}: task {split.Task.Name}: {e.Message}", e); }
        }, seq, tokenizer.EosId, $"{tasks.Count} tasks from {source}");
    }
}
