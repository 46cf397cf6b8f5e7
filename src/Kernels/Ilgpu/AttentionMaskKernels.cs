using ILGPU;

namespace DrICL.Kernels.Ilgpu;

// AttentionMaskKernels.cs: which keys a query may see, shared by the attention kernels.
//
// Mirrors AttentionMask.IsVisible: always causal (j <= i); with window > 0 also i - j < window; with
// sequence ids (several episodes packed into one row) only keys of the query's own sequence; then, with
// segment ids (0 = prefix, k = demonstration k), a query in segment s > 0 sees its own segment and the
// prefix as `Prefix` allows. i and j are key indices (a query's key index includes QueryOffset).

/// <summary>The mask as kernels take it: scalars only, the id arrays passed as views beside it.</summary>
public struct KernelMask
{
    public int Window;    // 0 = no sliding window
    public int Segmented; // whether segment ids apply
    public int Prefix;    // (int)PrefixVisibility
    public int Sequenced; // whether sequence ids apply

    public static KernelMask From(AttentionMask mask) => new()
    {
        Window = mask.Window,
        Segmented = mask.SegmentIds is null ? 0 : 1,
        Prefix = (int)mask.Prefix,
        Sequenced = mask.SequenceIds is null ? 0 : 1,
    };
}

/// <summary>[Begin, End): key indices.</summary>
public struct KeyRange
{
    public int Begin, End;
}

public static class AttentionMaskKernels
{
    /// <summary>si, sj: segment ids of the query's and the key's positions (ignored unless segmented); ni, nj: their sequence ids (ignored unless sequenced).</summary>
    internal static bool KeyVisible(int i, int j, int si, int sj, int ni, int nj, KernelMask mask)
    {
        if (j > i) return false;
        if (mask.Window > 0 && i - j >= mask.Window) return false;
        if (mask.Sequenced != 0 && ni != nj) return false;
        if (mask.Segmented == 0 || si == 0 || sj == si) return true;
        if (sj != 0) return false;
        return mask.Prefix == (int)PrefixVisibility.All || (mask.Prefix == (int)PrefixVisibility.First && si == 1);
    }

    /// <summary>
    /// The keys that any query row q0..qLast (indices before QueryOffset) may see, from the causal end after the
    /// last row and the window start before the first. Kernels visit only these key tiles.
    /// </summary>
    internal static KeyRange VisibleKeys(int q0, int qLast, int queryOffset, KernelMask mask) => new()
    {
        Begin = mask.Window > 0 ? Math.Max(0, queryOffset + q0 - mask.Window + 1) : 0,
        End = queryOffset + qLast + 1,
    };

    /// <summary>
    /// Segment and sequence ids of positions first..first+count-1 (of a row whose ids start at idsRow) into
    /// shared memory, one per thread of the group; 0 from `end` on, or when the mask does not use them.
    /// </summary>
    internal static void StageMaskIds(ArrayView<int> segS, ArrayView<int> seqS, ArrayView<int> segments, ArrayView<int> sequences,
        long idsRow, int first, int end, int count, KernelMask mask)
    {
        int x = Group.IdxX;
        if (x >= count) return;
        int p = first + x;
        segS[x] = mask.Segmented != 0 && p < end ? segments[idsRow + p] : 0;
        seqS[x] = mask.Sequenced != 0 && p < end ? sequences[idsRow + p] : 0;
    }
}
