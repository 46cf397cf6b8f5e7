namespace DrICL.Kernels.Cuda;

/// <summary>
/// Launches the bf16 tensor-core attention kernels (attention_forward_bf16.cu, attention_backward_bf16.cu),
/// which CudaDevice uses in ComputePrecision.Bf16 for head dims up to 128 on compute capability 8.0+
/// (mma.sync with bf16 needs sm_80). The tile sizes here must equal the constexprs in the .cu files and
/// attention_bf16.cuh (a unit test reads them from the sources).
/// </summary>
internal static class CudaAttentionBf16
{
    public const int Threads = 128;      // 4 warps, 16 rows (forward) or keys (backward) each
    public const int QueryRows = 64;     // FWD16_BQ, BWD16_BQ: query rows per block (forward) or tile (backward)
    public const int KeyTile = 64;       // FWD16_BK, BWD16_BK: keys per tile (forward) or block (backward)
    public const int Tile = 64;          // ATT16_TILE: rows of every staged tile
    public const int Pad = 8;            // ATT16_PAD: bf16 of padding per shared row
    public const int MaxHeadDim = 128;
    public const int MinArchitecture = 80; // compute_80: the first with mma.sync on bf16

    /// <summary>The padded head dimension the kernels are instantiated for: 32, 64 or 128.</summary>
    public static int Bucket(int d) => d switch
    {
        <= 32 => 32,
        <= 64 => 64,
        <= MaxHeadDim => 128,
        _ => throw new NotSupportedException($"head dimension {d} exceeds the bf16 attention kernels' {MaxHeadDim}"),
    };

    /// <summary>Whether kernels compiled for `architecture` (compute_XY) can run the bf16 mma.</summary>
    public static bool Supports(string architecture) =>
        int.TryParse(architecture.AsSpan("compute_".Length), out int arch) && arch >= MinArchitecture;

    // The .cu banners' sums, bf16 = 2 bytes: row-major tiles [64][DP+8], transposed ones [DP][64+8], then ints and floats.
    static int RowTile(int dp) => Tile * (dp + Pad);
    static int ColTile(int dp) => dp * (Tile + Pad);
    public static int ForwardSharedBytes(int dp) => 2 * (RowTile(dp) + ColTile(dp)) + sizeof(int) * 2 * KeyTile;
    public static int BackwardSharedBytes(int dp) =>
        2 * (4 * RowTile(dp) + 3 * ColTile(dp) + QueryRows * (Tile + Pad)) + sizeof(float) * 2 * QueryRows + sizeof(int) * (2 * QueryRows + 2 * KeyTile);

    // q: [B,Tq,H,D], k, v: [B,Tk,KV,D], segments, sequences: [B,Tk] or 0 -> o: [B,Tq,H,D], lse: [B,H,Tq]
    public static void Forward(CudaModules modules, nint stream, nint q, nint k, nint v, nint segments, nint sequences, nint o, nint lse, AttentionShape s, AttentionMask mask)
    {
        int d = s.HeadDim, dp = Bucket(d);
        modules["attention_forward_bf16.cu", $"attention_forward_bf16_{dp}"].Launch(stream,
            new Grid((s.QueryLength + QueryRows - 1) / QueryRows, s.Heads, s.Batch), Threads, ForwardSharedBytes(dp),
            q, k, v, segments, sequences, o, lse, s.QueryLength, s.KeyLength, s.Heads, s.KvHeads, d, s.QueryOffset, s.Scale,
            mask.Window, mask.SegmentIds is null ? 0 : 1, (int)mask.Prefix, mask.SequenceIds is null ? 0 : 1);
    }

    // delta: scratch of B*H*Tq floats -> dq: [B,Tq,H,D] (zeroed here, then accumulated by atomics), dk, dv: [B,Tk,KV,D] (overwritten)
    public static void Backward(CudaModules modules, nint stream, nint dO, nint q, nint k, nint v, nint o, nint lse, nint segments, nint sequences, nint delta,
        nint dq, nint dk, nint dv, AttentionShape s, AttentionMask mask)
    {
        int d = s.HeadDim, dp = Bucket(d);
        int rows = s.Batch * s.QueryLength * s.Heads;
        modules["attention_backward.cu", "attention_backward_delta"].Launch(stream, Grid.Cover(rows, 8), 256, 0,
            dO, o, delta, rows, s.QueryLength, s.Heads, d);
        CudaDriver.Check(CudaDriver.cuMemsetD32Async(dq, 0, (nuint)((long)rows * d), stream), "cuMemsetD32Async");
        modules["attention_backward_bf16.cu", $"attention_backward_bf16_{dp}"].Launch(stream,
            new Grid((s.KeyLength + KeyTile - 1) / KeyTile, s.KvHeads, s.Batch), Threads, BackwardSharedBytes(dp),
            dO, q, k, v, lse, delta, segments, sequences, dq, dk, dv, s.QueryLength, s.KeyLength, s.Heads, s.KvHeads, d, s.QueryOffset, s.Scale,
            mask.Window, mask.SegmentIds is null ? 0 : 1, (int)mask.Prefix, mask.SequenceIds is null ? 0 : 1);
    }
}
