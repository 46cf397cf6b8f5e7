namespace DrICL.Training;

/// <summary>
/// One training batch, every array [B,T] row-major: input ids, next-token labels (-100 = no loss),
/// demo ids (1-based demonstration whose answer a supervised position predicts, 0 elsewhere), segment ids
/// (0 = prefix, k = demonstration k) and positions.
/// </summary>
public sealed record TokenBatch(int Batch, int Seq, int[] InputIds, int[] Labels, int[] DemoIds, int[] SegmentIds, int[] PositionIds)
{
    public const int IgnoreIndex = -100;

    public void Validate()
    {
        int n = Batch * Seq;
        foreach (var (name, a) in new[] { ("input_ids", InputIds), ("labels", Labels), ("demo_ids", DemoIds), ("segment_ids", SegmentIds), ("position_ids", PositionIds) })
            if (a.Length != n) throw new ArgumentException($"{name} holds {a.Length} values, batch {Batch} x {Seq} needs {n}");
    }

    /// <summary>The number of demonstrations K of sequence b: its largest demo id.</summary>
    public int Demonstrations(int b)
    {
        int k = 0;
        for (int t = 0; t < Seq; t++) k = Math.Max(k, DemoIds[b * Seq + t]);
        return k;
    }
}
