using ILGPU;
using ILGPU.Algorithms;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Token cross-entropy with per-token weights; label -100 means no loss.
/// Forward: one group per token row. Each thread keeps an online (max, sum of exp(z - max)) over its
/// strided share of the vocabulary, rescaling its sum when the max grows, so the row is read once; the
/// pairs are merged across the warp with xor-shuffles and then across warps through 32 shared slots of
/// each (256 B). lse = max + log(sum), nll = lse - z[label] (0 when ignored).
/// Backward: dlogits = w * (softmax(z) - onehot(label)) = w * exp(z - lse) - w at the label; the row is
/// zero when ignored. Each element is read and then written by the same thread, so dlogits may be the
/// logits themselves (the chunked lm_head loss reuses its logits scratch). Labels are checked on the host.
/// </summary>
public static class CrossEntropyKernels
{
    public const int IgnoreIndex = -100;

    // logits: [N,V], labels: [N] -> nll: [N], lse: [N]; grid: N, group: a multiple of 32
    public static void Forward(ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> nll, ArrayView<float> lse, int v)
    {
        var maxSlots = SharedMemory.Allocate<float>(32);
        var sumSlots = SharedMemory.Allocate<float>(32);
        long row = (long)Grid.IdxX * v;
        float max = float.NegativeInfinity, sum = 0f;
        for (int i = Group.IdxX; i < v; i += Group.DimX)
        {
            float z = logits[row + i];
            if (z > max)
            {
                sum = sum * XMath.Exp(max - z) + 1f;
                max = z;
            }
            else if (z > float.NegativeInfinity)
                sum += XMath.Exp(z - max);
        }
        WarpMerge(ref max, ref sum);
        if (Warp.IsFirstLane)
        {
            maxSlots[Warp.WarpIdx] = max;
            sumSlots[Warp.WarpIdx] = sum;
        }
        Group.Barrier();
        bool filled = Warp.LaneIdx < Group.DimX / Warp.WarpSize;
        max = filled ? maxSlots[Warp.LaneIdx] : float.NegativeInfinity;
        sum = filled ? sumSlots[Warp.LaneIdx] : 0f;
        WarpMerge(ref max, ref sum);
        if (Group.IsFirstThread)
        {
            float rowLse = max + XMath.Log(sum);
            int label = labels[Grid.IdxX];
            lse[Grid.IdxX] = rowLse;
            nll[Grid.IdxX] = label == IgnoreIndex ? 0f : rowLse - logits[row + label];
        }
    }

    // weights: [N] -> dlogits: [N,V] overwritten (may alias logits); grid: N, group: any
    public static void Backward(ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> lse, ArrayView<float> weights, ArrayView<float> dlogits, int v)
    {
        long row = (long)Grid.IdxX * v;
        int label = labels[Grid.IdxX];
        bool ignored = label == IgnoreIndex;
        float w = ignored ? 0f : weights[Grid.IdxX], l = lse[Grid.IdxX];
        for (int i = Group.IdxX; i < v; i += Group.DimX)
        {
            float g = ignored ? 0f : w * XMath.Exp(logits[row + i] - l);
            dlogits[row + i] = i == label ? g - w : g;
        }
    }

    // Merges (max, sum) pairs across the warp; every lane ends with the warp's pair.
    static void WarpMerge(ref float max, ref float sum)
    {
        Merge(ref max, ref sum, 16); Merge(ref max, ref sum, 8); Merge(ref max, ref sum, 4);
        Merge(ref max, ref sum, 2); Merge(ref max, ref sum, 1);
    }

    static void Merge(ref float max, ref float sum, int laneMask)
    {
        float otherMax = Warp.ShuffleXor(max, laneMask), otherSum = Warp.ShuffleXor(sum, laneMask);
        float m = XMath.Max(max, otherMax);
        // Both empty: exp(-inf - -inf) would be NaN.
        sum = m == float.NegativeInfinity ? 0f : sum * XMath.Exp(max - m) + otherSum * XMath.Exp(otherMax - m);
        max = m;
    }
}
