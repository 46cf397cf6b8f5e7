using System.Runtime.CompilerServices;
using ILGPU;

namespace DrICL.Kernels.Ilgpu;

// Bf16Tiles.cs: shared-memory bf16 tiles and mma fragment loads for the bf16 attention kernels.
//
// A staged tile holds `rows` rows of a [rows][d] fp32 matrix in global memory, converted to bf16 on the way
// in; rows past the matrix's end and columns past d read as 0, so the mma over the padded head dim DP (32,
// 64 or 128) sees zeros there. Tiles are row-major words: a uint holds the bf16 of columns 2w and 2w+1, and a
// row is (cols + 8) / 2 words. The 8 bf16 of padding shift consecutive rows by 4 banks, so the 8 row groups
// of a fragment load hit 32 different banks.
// The CUDA C kernels also kept transposed copies, so that every fragment register was one 32-bit load. Here
// there is one copy of each tile (it is what fits the d = 128 backward in 48 KiB, see FlashAttentionBf16.cs):
// a fragment whose register pairs two adjacent rows of one column (LoadBFromRows, LoadAFromColumns) is built
// from two 16-bit halves, the job ldmatrix.trans would do on sm_80+.
public static class Bf16Tiles
{
    public const int Pad = 8; // bf16 of padding per shared row

    /// <summary>Words per row of a tile of `cols` bf16 columns.</summary>
    public static int Stride(int cols) => (cols + Pad) / 2;

    /// <summary>
    /// src: row r of the matrix at src[at + r * rowStride], `rows` of them exist -> tile: [tileRows][dp + 8] bf16.
    /// Every thread of the group takes part; a barrier must follow before the tile is read.
    /// </summary>
    public static void StageRows(ArrayView<uint> tile, ArrayView<float> src, long at, long rowStride, int rows, int tileRows, int d, int dp)
    {
        int half = dp / 2, stride = Stride(dp);
        for (int idx = Group.IdxX; idx < tileRows * half; idx += Group.DimX)
        {
            int r = idx / half, c = 2 * (idx - r * half);
            long row = at + r * rowStride;
            float x0 = r < rows && c < d ? src[row + c] : 0f;
            float x1 = r < rows && c + 1 < d ? src[row + c + 1] : 0f;
            tile[r * stride + c / 2] = Bf16.Pack(x0, x1);
        }
    }

    // The bf16 at (r, c) of a tile, in the low 16 bits.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint Element(ArrayView<uint> tile, int stride, int r, int c) => (tile[r * stride + (c >> 1)] >> (16 * (c & 1))) & 0xffffu;

    // Elements (r, c) and (r + 1, c) as one register, the lower row in the low half.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint RowPair(ArrayView<uint> tile, int stride, int r, int c) => Element(tile, stride, r, c) | (Element(tile, stride, r + 1, c) << 16);

    /// <summary>A fragment of the 16x16 block at (row0, col0) of a row-major tile: four 32-bit loads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AFragment LoadA(ArrayView<uint> tile, int stride, int row0, int col0)
    {
        int lane = Warp.LaneIdx, at = (row0 + (lane >> 2)) * stride + col0 / 2 + (lane & 3);
        return new AFragment { A0 = tile[at], A1 = tile[at + 8 * stride], A2 = tile[at + 4], A3 = tile[at + 8 * stride + 4] };
    }

    /// <summary>
    /// B fragment of the 16x8 block B[k0..k0+15][n0..n0+7] from a tile holding B transposed (tile row n is B's
    /// column n, k along the row): the "col" operand layout, two 32-bit loads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BFragment LoadB(ArrayView<uint> tile, int stride, int n0, int k0)
    {
        int lane = Warp.LaneIdx, at = (n0 + (lane >> 2)) * stride + k0 / 2 + (lane & 3);
        return new BFragment { B0 = tile[at], B1 = tile[at + 4] };
    }

    /// <summary>B fragment of B[k0..k0+15][n0..n0+7] from a tile holding B itself (tile row k): pairs of rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BFragment LoadBFromRows(ArrayView<uint> tile, int stride, int k0, int n0)
    {
        int lane = Warp.LaneIdx, k = k0 + 2 * (lane & 3), n = n0 + (lane >> 2);
        return new BFragment { B0 = RowPair(tile, stride, k, n), B1 = RowPair(tile, stride, k + 8, n) };
    }

    /// <summary>A fragment of A[row0..row0+15][col0..col0+15] from a tile holding A transposed (tile row = A's column).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AFragment LoadAFromColumns(ArrayView<uint> tile, int stride, int row0, int col0)
    {
        int lane = Warp.LaneIdx, r = row0 + (lane >> 2), c = col0 + 2 * (lane & 3);
        return new AFragment
        {
            A0 = RowPair(tile, stride, c, r),
            A1 = RowPair(tile, stride, c, r + 8),
            A2 = RowPair(tile, stride, c + 8, r),
            A3 = RowPair(tile, stride, c + 8, r + 8),
        };
    }
}
