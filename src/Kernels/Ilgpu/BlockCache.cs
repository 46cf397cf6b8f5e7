using System.Numerics;

namespace DrICL.Kernels.Ilgpu;

/// <summary>The size classes of the caching allocator (see BlockCache&lt;TBlock&gt;).</summary>
internal static class BlockCache
{
    /// <summary>Small blocks round up to this; CUDA aligns allocations to 256 bytes anyway.</summary>
    public const long SmallGranule = 512;
    /// <summary>Requests up to this size are small.</summary>
    public const long SmallLimit = 1L << 20;
    /// <summary>Large blocks round to at least this: the driver maps device memory in 2 MiB pages.</summary>
    public const long LargeGranule = 2L << 20;

    /// <summary>
    /// The block size serving a request: small ones to a multiple of 512 B; large ones to eight classes per
    /// power of two (a multiple of 1/16 of the next power of two, at least 2 MiB), so rounding wastes under
    /// 12.5% while nearby sizes share a class. Zero bytes still get a block (cuMemAlloc rejects zero).
    /// </summary>
    public static long SizeClass(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes <= SmallLimit) return Math.Max(SmallGranule, RoundUp(bytes, SmallGranule));
        long step = Math.Max(LargeGranule, (long)BitOperations.RoundUpToPowerOf2((ulong)bytes) / 16);
        return RoundUp(bytes, step);
    }

    static long RoundUp(long value, long multiple) => (value + multiple - 1) / multiple * multiple;
}

/// <summary>
/// The bookkeeping of the caching allocator, kept apart from the device so that it runs without a GPU: a request
/// is rounded up to its size class; a returned block waits on its class's free list and serves the next
/// request of that class; a new block comes from `allocate` only when that list is empty. Counts the bytes
/// handed out (in use, by size class), their high-water mark and the bytes waiting in the lists.
/// Exact-class reuse without splitting suits training, where every step asks for the same shapes again.
/// A block is whatever `allocate` hands out (an ILGPU buffer, a device address); its default value (null, 0)
/// means out of memory.
/// </summary>
internal sealed class BlockCache<TBlock>(Func<long, TBlock?> allocate, Action<TBlock> free)
{
    readonly Dictionary<long, Stack<TBlock>> freeLists = [];

    public long BytesInUse { get; private set; }
    public long PeakBytes { get; private set; }
    public long BytesCached { get; private set; }

    /// <summary>A block of SizeClass(bytes): a cached one when there is one, else a new one; default when `allocate` returns default (out of memory).</summary>
    public TBlock? Take(long bytes)
    {
        long size = BlockCache.SizeClass(bytes);
        TBlock? block;
        if (freeLists.TryGetValue(size, out var list) && list.Count > 0)
        {
            block = list.Pop();
            BytesCached -= size;
        }
        else if (EqualityComparer<TBlock>.Default.Equals(block = allocate(size), default)) return default;
        BytesInUse += size;
        PeakBytes = Math.Max(PeakBytes, BytesInUse);
        return block;
    }

    /// <summary>Puts a block Take handed out for `bytes` back on its free list.</summary>
    public void Return(TBlock block, long bytes)
    {
        long size = BlockCache.SizeClass(bytes);
        if (!freeLists.TryGetValue(size, out var list)) freeLists.Add(size, list = new Stack<TBlock>());
        list.Push(block);
        BytesInUse -= size;
        BytesCached += size;
    }

    /// <summary>Frees every cached block (the caller makes sure no queued work still reads them).</summary>
    public void ReleaseCached()
    {
        foreach (var list in freeLists.Values)
            while (list.TryPop(out var block)) free(block);
        BytesCached = 0;
    }

    public void ResetPeak() => PeakBytes = BytesInUse;
}
