namespace DrICL.Kernels.Cuda;

/// <summary>
/// Launches the attention kernels (attention_forward.cu, attention_backward.cu): picks the instantiation
/// for the head dimension and sizes grids and dynamic shared memory. The tile sizes here must equal the
/// constexprs in the .cu files (a unit test reads them from the sources).
/// </summary>
internal static class CudaAttention
{
    public const int Threads = 128;       // 4 warps in every attention kernel
    public const int QueryRows = 16;      // FWD_BQ, DQ_BQ: query rows per block
    public const int KeyTile = 32;        // FWD_BK, DQ_BK: keys per tile, one per lane
    public const int KeyRows = 16;        // DKV_BK: keys per dK/dV block
    public const int QueryTile = 32;      // DKV_BQ: query rows per tile, one per lane
    public const int MaxHeadDim = 256;

    /// <summary>The instantiated head dimension that covers d: 32, 64, 128 or 256.</summary>
    public static int Bucket(int d) => d switch
    {
        <= 32 => 32,
        <= 64 => 64,
        <= 128 => 128,
        <= MaxHeadDim => 256,
        _ => throw new NotSupportedException($"head dimension {d} exceeds the CUDA attention kernels' {MaxHeadDim}"),
    };

    // The .cu banners' sums: float tiles, then the tiles' segment and sequence ids (ints, the same size);
    // dkdv also keeps a lse and a delta per query row.
    public static int ForwardSharedBytes(int d) => sizeof(float) * (QueryRows * d + KeyTile * (d + 1) + KeyTile * d + 2 * KeyTile);
    public static int DqSharedBytes(int d) => sizeof(float) * (2 * QueryRows * d + 2 * KeyTile * (d + 1) + 2 * KeyTile);
    public static int DkdvSharedBytes(int d) => sizeof(float) * (2 * KeyRows * d + 2 * QueryTile * (d + 1) + 4 * QueryTile + 2 * KeyRows);

    // q: [B,Tq,H,D], k, v: [B,Tk,KV,D], segments, sequences: [B,Tk] or 0 -> o: [B,Tq,H,D], lse: [B,H,Tq]
    public static void Forward(CudaModules modules, nint stream, nint q, nint k, nint v, nint segments, nint sequences, nint o, nint lse, AttentionShape s, AttentionMask mask)
    {
        int d = s.HeadDim;
        modules["attention_forward.cu", $"attention_forward_{Bucket(d)}"].Launch(stream,
            new Grid((s.QueryLength + QueryRows - 1) / QueryRows, s.Heads, s.Batch), Threads, ForwardSharedBytes(d),
            q, k, v, segments, sequences, o, lse, s.QueryLength, s.KeyLength, s.Heads, s.KvHeads, d, s.QueryOffset, s.Scale,
            mask.Window, mask.SegmentIds is null ? 0 : 1, (int)mask.Prefix, mask.SequenceIds is null ? 0 : 1);
    }

    // delta: scratch of B*H*Tq floats -> dq: [B,Tq,H,D], dk, dv: [B,Tk,KV,D], all overwritten
    public static void Backward(CudaModules modules, nint stream, nint dO, nint q, nint k, nint v, nint o, nint lse, nint segments, nint sequences, nint delta,
        nint dq, nint dk, nint dv, AttentionShape s, AttentionMask mask)
    {
        int d = s.HeadDim, bucket = Bucket(d);
        int rows = s.Batch * s.QueryLength * s.Heads;
        modules["attention_backward.cu", "attention_backward_delta"].Launch(stream, Grid.Cover(rows, 8), 256, 0,
            dO, o, delta, rows, s.QueryLength, s.Heads, d);

        int segmented = mask.SegmentIds is null ? 0 : 1, prefix = (int)mask.Prefix, sequenced = mask.SequenceIds is null ? 0 : 1;
        modules["attention_backward.cu", $"attention_backward_dq_{bucket}"].Launch(stream,
            new Grid((s.QueryLength + QueryRows - 1) / QueryRows, s.Heads, s.Batch), Threads, DqSharedBytes(d),
            dO, q, k, v, lse, delta, segments, sequences, dq, s.QueryLength, s.KeyLength, s.Heads, s.KvHeads, d, s.QueryOffset, s.Scale,
            mask.Window, segmented, prefix, sequenced);
        modules["attention_backward.cu", $"attention_backward_dkdv_{bucket}"].Launch(stream,
            new Grid((s.KeyLength + KeyRows - 1) / KeyRows, s.KvHeads, s.Batch), Threads, DkdvSharedBytes(d),
            dO, q, k, v, lse, delta, segments, sequences, dk, dv, s.QueryLength, s.KeyLength, s.Heads, s.KvHeads, d, s.QueryOffset, s.Scale,
            mask.Window, segmented, prefix, sequenced);
    }
}
