using DrICL.Training.Data;

namespace DrICL.Training;

/// <summary>
/// One training batch, every array [B,T] row-major: input ids, next-token labels (-100 = no loss),
/// demo ids (1-based demonstration whose answer a supervised position predicts, 0 elsewhere), segment ids
/// (0 = prefix, k = demonstration k) and positions. When several episodes are packed into a row,
/// SequenceIds numbers them (1-based within the batch, 0 = padding); without it each row is one episode.
/// </summary>
public sealed record TokenBatch(int Batch, int Seq, int[] InputIds, int[] Labels, int[] DemoIds, int[] SegmentIds, int[] PositionIds, int[]? SequenceIds = null)
{
    public const int IgnoreIndex = -100;

    /// <summary>
    /// One episode per row of <paramref name="seq"/> tokens, each from the row's start, padded with id 0, label -100 and
    /// demo, segment and position 0 (padding after an episode changes nothing before it under the causal mask).
    /// </summary>
    public static TokenBatch OneEpisodePerRow(IReadOnlyList<Episode> episodes, int seq)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seq);
        int rows = episodes.Count;
        var inputIds = new int[rows * seq];
        var labels = new int[rows * seq];
        var demoIds = new int[rows * seq];
        var segmentIds = new int[rows * seq];
        var positionIds = new int[rows * seq];
        Array.Fill(inputIds, ByteTokenizer.PadId);
        Array.Fill(labels, IgnoreIndex);
        for (int row = 0; row < rows; row++)
        {
            var episode = episodes[row];
            if (episode.Length > seq) throw new ArgumentException($"episode {row} holds {episode.Length} tokens, more than the row's {seq}", nameof(episodes));
            int at = row * seq;
            episode.InputIds.CopyTo(inputIds, at);
            episode.Labels.CopyTo(labels, at);
            episode.DemoIds.CopyTo(demoIds, at);
            episode.SegmentIds.CopyTo(segmentIds, at);
            episode.PositionIds.CopyTo(positionIds, at);
        }
        return new TokenBatch(rows, seq, inputIds, labels, demoIds, segmentIds, positionIds);
    }

    public void Validate()
    {
        int n = Batch * Seq;
        foreach (var (name, a) in new[] { ("input_ids", InputIds), ("labels", Labels), ("demo_ids", DemoIds), ("segment_ids", SegmentIds), ("position_ids", PositionIds), ("sequence_ids", SequenceIds ?? InputIds) })
            if (a.Length != n) throw new ArgumentException($"{name} holds {a.Length} values, batch {Batch} x {Seq} needs {n}");
    }

    /// <summary>
    /// What makes the ids unusable for a model of this vocabulary and context, or null: a token or label
    /// outside the vocabulary would index past the embedding, a position past the context would grow the
    /// RoPE table without bound.
    /// </summary>
    public string? RangeProblem(int vocabSize, int maxPositions)
    {
        for (int i = 0; i < InputIds.Length; i++)
        {
            if ((uint)InputIds[i] >= (uint)vocabSize) return $"input_ids[{i}] = {InputIds[i]} is outside the vocabulary [0, {vocabSize})";
            if (Labels[i] != IgnoreIndex && (uint)Labels[i] >= (uint)vocabSize) return $"labels[{i}] = {Labels[i]} is neither {IgnoreIndex} nor in [0, {vocabSize})";
            if ((uint)PositionIds[i] >= (uint)maxPositions) return $"position_ids[{i}] = {PositionIds[i]} is outside [0, {maxPositions}) (max_position_embeddings)";
            if (DemoIds[i] < 0 || SegmentIds[i] < 0) return $"demo_ids[{i}] = {DemoIds[i]} / segment_ids[{i}] = {SegmentIds[i]} is negative";
        }
        return null;
    }

    /// <summary>The episodes of the batch: how many, and for each token its episode index (-1 for padding).</summary>
    public (int Count, int[] OfToken) Sequences()
    {
        var of = new int[InputIds.Length];
        if (SequenceIds is null)
        {
            for (int t = 0; t < of.Length; t++) of[t] = t / Seq;
            return (Batch, of);
        }
        var index = new Dictionary<int, int>();
        for (int t = 0; t < of.Length; t++)
        {
            int id = SequenceIds[t];
            if (id == 0) { of[t] = -1; continue; }
            if (!index.TryGetValue(id, out int s)) index.Add(id, s = index.Count);
            of[t] = s;
        }
        return (index.Count, of);
    }
}
