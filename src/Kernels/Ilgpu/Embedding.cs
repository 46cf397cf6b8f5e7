using ILGPU;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Token embedding lookup and its scatter-add backward. Forward: one group per token copies
/// its table row. Backward: one group per token adds its gradient row into the table with atomic adds,
/// since tokens repeat and their rows collide; the order of the additions (and so the last bit of a
/// repeated token's gradient) is not fixed. Ids are checked on the host.
/// </summary>
public static class EmbeddingKernels
{
    // table: [V,C], ids: [N] -> y: [N,C]; grid: N, group: any
    public static void Forward(ArrayView<float> table, ArrayView<int> ids, ArrayView<float> y, int c)
    {
        long src = (long)ids[Grid.IdxX] * c, dst = (long)Grid.IdxX * c;
        for (int i = Group.IdxX; i < c; i += Group.DimX) y[dst + i] = table[src + i];
    }

    // dy: [N,C] -> dtable: [V,C] accumulated; grid: N, group: any
    public static void Backward(ArrayView<float> dy, ArrayView<int> ids, ArrayView<float> dtable, int c)
    {
        long src = (long)Grid.IdxX * c, dst = (long)ids[Grid.IdxX] * c;
        for (int i = Group.IdxX; i < c; i += Group.DimX) Atomic.Add(ref dtable[dst + i], dy[src + i]);
    }
}
