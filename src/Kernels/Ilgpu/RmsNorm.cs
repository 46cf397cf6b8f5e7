using ILGPU;
using ILGPU.Algorithms;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// y = x * rstd * w with rstd = 1/sqrt(mean(x^2) + eps), and its backward.
/// Forward and dx: one group per row; the row's sum (of x^2, or of dy*w*xhat) is a group reduction
/// (warp shuffles, then one shared slot per warp: Reduce.GroupSum). rstd is formed in double like the CPU
/// reference. dw sums over rows, so it is a separate column-parallel kernel: each group owns 32 columns,
/// its 8 warps stride over the rows reading 32 consecutive floats at a time, then combine in shared memory
/// (8 x 32 floats). That keeps dw deterministic, with no atomics. Shared: 128 B (forward, dx), 1 KiB (dw).
/// </summary>
public static class RmsNormKernels
{
    public const int DwWarps = 8;

    // x: [N,C], w: [C] -> y: [N,C], rstd: [N]; grid: N, group: a multiple of 32
    public static void Forward(ArrayView<float> x, ArrayView<float> w, ArrayView<float> y, ArrayView<float> rstd, int c, float eps)
    {
        var slots = SharedMemory.Allocate<float>(32);
        long row = (long)Grid.IdxX * c;
        float ss = 0f;
        for (int i = Group.IdxX; i < c; i += Group.DimX) ss += x[row + i] * x[row + i];
        ss = Reduce.GroupSum(ss, slots);
        float rs = (float)(1.0 / XMath.Sqrt((double)ss / c + eps));
        if (Group.IsFirstThread) rstd[Grid.IdxX] = rs;
        for (int i = Group.IdxX; i < c; i += Group.DimX) y[row + i] = x[row + i] * rs * w[i];
    }

    // dx = rstd * (dy*w - xhat * mean(dy*w*xhat)), xhat = x * rstd; dx: [N,C] overwritten. grid: N, group: a multiple of 32
    public static void BackwardDx(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> w, ArrayView<float> rstd, ArrayView<float> dx, int c)
    {
        var slots = SharedMemory.Allocate<float>(32);
        long row = (long)Grid.IdxX * c;
        float rs = rstd[Grid.IdxX];
        float dot = 0f;
        for (int i = Group.IdxX; i < c; i += Group.DimX) dot += dy[row + i] * w[i] * x[row + i] * rs;
        float mean = Reduce.GroupSum(dot, slots) / c;
        for (int i = Group.IdxX; i < c; i += Group.DimX)
        {
            float xhat = x[row + i] * rs;
            dx[row + i] = rs * (dy[row + i] * w[i] - xhat * mean);
        }
    }

    // dw: [C] += sum over rows of dy * xhat; grid: ceil(C/32), group: 32 * DwWarps
    public static void BackwardDw(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> rstd, ArrayView<float> dw, int n, int c)
    {
        var partial = SharedMemory.Allocate<float>(DwWarps * 32); // [warp][lane]
        int lane = Warp.LaneIdx, warp = Warp.WarpIdx;
        int col = Grid.IdxX * 32 + lane;
        float sum = 0f;
        if (col < c)
            for (int r = warp; r < n; r += DwWarps)
            {
                long at = (long)r * c + col;
                sum += dy[at] * (x[at] * rstd[r]);
            }
        partial[warp * 32 + lane] = sum;
        Group.Barrier();
        if (warp == 0 && col < c)
        {
            for (int k = 1; k < DwWarps; k++) sum += partial[k * 32 + lane];
            dw[col] += sum;
        }
    }
}
