namespace DrICL.Training.Data;

/// <summary>Where one episode sits in a packed batch: row, first column, and its sequence id (1-based index into <see cref="PackedBatch.Placements"/>).</summary>
public readonly record struct EpisodePlacement(Episode Episode, int Row, int Start, int SequenceId);

/// <summary>
/// A [Rows, SeqLen] batch of packed episodes, every array flat and row-major (index <c>row * SeqLen + column</c>).
/// <list type="bullet">
/// <item>Within an episode's columns the five fixture arrays are the episode's own (<see cref="Episode"/>): position ids
/// restart at 0, segment ids at 0 (its BOS + instruction), demo ids at 1.</item>
/// <item><see cref="SequenceIds"/>: the episode's 1-based sequence id on all its columns, 0 on padding. Sequence ids are
/// unique in the batch, so <c>Placements[s - 1]</c> is sequence s and per-episode losses (DrICL's per-sequence terms)
/// group by them.</item>
/// <item>Padding (the end of a row): input <c>padId</c>, label -100, demo 0, segment 0, position 0, sequence 0.</item>
/// </list>
/// Attention: segment ids alone do not keep episodes apart (every episode has a segment 0 and a segment 1), so
/// key j is visible to query i of the same row only if <c>SequenceIds[i] == SequenceIds[j]</c>, on top of the causal /
/// sliding-window rule, and the zero-shot mask's segment rule then applies within that sequence. Padding queries see
/// only padding keys, never an empty row.
/// </summary>
public sealed class PackedBatch
{
    public required int Rows { get; init; }
    public required int SeqLen { get; init; }
    public required int[] InputIds { get; init; }
    public required int[] Labels { get; init; }
    public required int[] DemoIds { get; init; }
    public required int[] SegmentIds { get; init; }
    public required int[] PositionIds { get; init; }
    public required int[] SequenceIds { get; init; }
    /// <summary>The packed episodes in packing order; <c>Placements[s - 1].SequenceId == s</c>.</summary>
    public required IReadOnlyList<EpisodePlacement> Placements { get; init; }

    public int EpisodeCount => Placements.Count;

    public TokenBatch ToTokenBatch() => new(Rows, SeqLen, InputIds, Labels, DemoIds, SegmentIds, PositionIds, SequenceIds);
}

/// <summary>
/// Packs episodes into fixed [rows, seqLen] batches, next-fit and in order: an episode goes at the end of the current
/// row if it fits, otherwise it starts the next row. Episodes are never split; build them with
/// <c>maxTokens &lt;= seqLen</c> so that their truncation drops whole demonstrations first.
/// </summary>
public sealed class EpisodePacker(int seqLen, int padId)
{
    public int SeqLen { get; } = seqLen > 0 ? seqLen : throw new ArgumentOutOfRangeException(nameof(seqLen));

    /// <summary>
    /// Packs the longest prefix of <paramref name="episodes"/> that fits in <paramref name="rows"/> rows; the batch's
    /// <see cref="PackedBatch.EpisodeCount"/> says how many were taken. Rows left without an episode are all padding.
    /// </summary>
    public PackedBatch Pack(IReadOnlyList<Episode> episodes, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        int size = rows * SeqLen;
        var inputIds = new int[size];
        var labels = new int[size];
        var demoIds = new int[size];
        var segmentIds = new int[size];
        var positionIds = new int[size];
        var sequenceIds = new int[size];
        Array.Fill(inputIds, padId);
        Array.Fill(labels, Episode.IgnoreLabel);

        var placements = new List<EpisodePlacement>();
        int row = 0, column = 0;
        foreach (var episode in episodes)
        {
            if (episode.Length > SeqLen)
                throw new EpisodeTooLongException(episode.Length, SeqLen,
                    $"episode of {episode.Length} tokens does not fit a row of {SeqLen}; build episodes with maxTokens <= {SeqLen}");
            if (column + episode.Length > SeqLen) { row++; column = 0; }
            if (row == rows) break;

            int at = row * SeqLen + column, sequenceId = placements.Count + 1;
            episode.InputIds.CopyTo(inputIds, at);
            episode.Labels.CopyTo(labels, at);
            episode.DemoIds.CopyTo(demoIds, at);
            episode.SegmentIds.CopyTo(segmentIds, at);
            episode.PositionIds.CopyTo(positionIds, at);
            sequenceIds.AsSpan(at, episode.Length).Fill(sequenceId);
            placements.Add(new EpisodePlacement(episode, row, column, sequenceId));
            column += episode.Length;
        }

        return new PackedBatch
        {
            Rows = rows,
            SeqLen = SeqLen,
            InputIds = inputIds,
            Labels = labels,
            DemoIds = demoIds,
            SegmentIds = segmentIds,
            PositionIds = positionIds,
            SequenceIds = sequenceIds,
            Placements = placements,
        };
    }
}
