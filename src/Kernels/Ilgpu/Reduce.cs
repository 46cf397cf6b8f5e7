using ILGPU;
using ILGPU.Algorithms;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Reductions shared by the kernels (warp sum, warp max, block sum). A warp reduces with
/// xor-shuffles, so every lane ends with the result and no shared memory is touched; a group then puts one
/// value per warp in 32 shared slots and every warp folds them. The shuffles are unrolled by hand: ILGPU
/// 1.5.3 never unrolls loops. Call from explicitly grouped kernels whose group size is a multiple of 32.
/// </summary>
static class Reduce
{
    public static float WarpSum(float x)
    {
        x += Warp.ShuffleXor(x, 16); x += Warp.ShuffleXor(x, 8); x += Warp.ShuffleXor(x, 4);
        x += Warp.ShuffleXor(x, 2); return x + Warp.ShuffleXor(x, 1);
    }

    public static float WarpMax(float x)
    {
        x = XMath.Max(x, Warp.ShuffleXor(x, 16)); x = XMath.Max(x, Warp.ShuffleXor(x, 8)); x = XMath.Max(x, Warp.ShuffleXor(x, 4));
        x = XMath.Max(x, Warp.ShuffleXor(x, 2)); return XMath.Max(x, Warp.ShuffleXor(x, 1));
    }

    /// <summary>Sum over the group; every thread gets it. slots: 32 floats of shared memory, reusable by the next call.</summary>
    public static float GroupSum(float x, ArrayView<float> slots)
    {
        x = WarpSum(x);
        Group.Barrier(); // a previous call may still be reading the slots
        if (Warp.IsFirstLane) slots[Warp.WarpIdx] = x;
        Group.Barrier();
        return WarpSum(Warp.LaneIdx < Group.DimX / Warp.WarpSize ? slots[Warp.LaneIdx] : 0f);
    }
}
