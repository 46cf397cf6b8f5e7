using ILGPU;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Matrix multiply without cuBLAS, row-major: c[M,N] = (accumulate ? c : 0) + op(a)[M,K] @ op(b)[K,N];
/// a is stored [M,K] ([K,M] when transposed), b [K,N] ([N,K] when transposed), as in Cpu.Gemm.
/// The classic shared-memory tiling: a group of 16 x 16 threads owns a 16 x 16 tile of c, one element per
/// thread; for each step of 16 along K it stages the matching 16 x 16 tiles of op(a) and op(b) in shared
/// memory (2 KiB; out-of-range elements as zeros, so any shape works), waits, and every thread takes a
/// 16-long dot product from them. Each input element is then read from global memory M/16 or N/16 times
/// instead of M or N. Accumulates in fp32 in a fixed order (deterministic). With roundToBf16 the inputs are
/// rounded to bf16 (nearest even) as they are staged, which is what cuBLAS's CUBLAS_COMPUTE_32F_FAST_16BF
/// does to them, accumulating in fp32.
/// This is the fallback for the CPU accelerator and machines without cuBLAS: correct everywhere, not fast.
/// </summary>
public static class GemmKernels
{
    public const int Tile = 16;

    /// <summary>The sizes and flags of one GEMM (flags as 0/1 ints).</summary>
    public readonly record struct Shape(int M, int N, int K, int TransA, int TransB, int Accumulate, int RoundToBf16);

    // a: [M,K] or [K,M], b: [K,N] or [N,K] -> c: [M,N]; grid: (ceil(N/16), ceil(M/16)), group: (16, 16)
    public static void Tiled(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, Shape s)
    {
        var aTile = SharedMemory.Allocate<float>(Tile * Tile); // [row][k]
        var bTile = SharedMemory.Allocate<float>(Tile * Tile); // [k][col]
        int tx = Group.IdxX, ty = Group.IdxY;
        int row = Grid.IdxY * Tile + ty, col = Grid.IdxX * Tile + tx;
        float sum = 0f;
        for (int k0 = 0; k0 < s.K; k0 += Tile)
        {
            int ka = k0 + tx, kb = k0 + ty; // this thread stages op(a)[row, ka] and op(b)[kb, col]
            float av = row < s.M && ka < s.K ? a[s.TransA != 0 ? (long)ka * s.M + row : (long)row * s.K + ka] : 0f;
            float bv = kb < s.K && col < s.N ? b[s.TransB != 0 ? (long)col * s.K + kb : (long)kb * s.N + col] : 0f;
            aTile[ty * Tile + tx] = s.RoundToBf16 != 0 ? Bf16.Round(av) : av;
            bTile[ty * Tile + tx] = s.RoundToBf16 != 0 ? Bf16.Round(bv) : bv;
            Group.Barrier();
            for (int p = 0; p < Tile; p++) sum += aTile[ty * Tile + p] * bTile[p * Tile + tx];
            Group.Barrier();
        }
        if (row < s.M && col < s.N)
        {
            long at = (long)row * s.N + col;
            c[at] = s.Accumulate != 0 ? c[at] + sum : sum;
        }
    }
}
