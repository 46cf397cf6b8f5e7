using System.Numerics;

namespace DrICL.Kernels.Cuda;

/// <summary>
/// The bookkeeping of the caching allocator, kept apart from CUDA so that it runs without a GPU: a request
/// is rounded up to its size class; a returned block waits on its class's free list and serves the next
/// request of that class; a new block comes from `allocate` only when that list is empty. Counts the bytes
/// handed out (in use, by size class), their high-water mark and the bytes waiting in the lists.
/// Exact-class reuse without splitting suits training, where every step asks for the same shapes again.
/// </summary>
internal sealed class BlockCache(Func<long, nint> allocate, Action<nint> free)
{
    /// <summary>Small blocks round up to this; cuMemAlloc aligns to 256 bytes anyway.</summary>
    public const long SmallGranule = 512;
    /// <summary>Requests up to this size are small.</summary>
    public const long SmallLimit = 1L << 20;
    /// <summary>Large blocks round to at least this: the driver maps device memory in 2 MiB pages.</summary>
    public const long LargeGranule = 2L << 20;

    readonly Dictionary<long, Stack<nint>> freeLists = [];

    public long BytesInUse { get; private set; }
    public long PeakBytes { get; private set; }
    public long BytesCached { get; private set; }

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

    /// <summary>A block of SizeClass(bytes): a cached one when there is one, else a new one; 0 when `allocate` returns 0 (out of memory).</summary>
    public nint Take(long bytes)
    {
        long size = SizeClass(bytes);
        nint pointer;
        if (freeLists.TryGetValue(size, out var list) && list.Count > 0)
        {
            pointer = list.Pop();
            BytesCached -= size;
        }
        else if ((pointer = allocate(size)) == 0) return 0;
        BytesInUse += size;
        PeakBytes = Math.Max(PeakBytes, BytesInUse);
        return pointer;
    }

    /// <summary>Puts a block Take handed out for `bytes` back on its free list.</summary>
    public void Return(nint pointer, long bytes)
    {
        long size = SizeClass(bytes);
        if (!freeLists.TryGetValue(size, out var list)) freeLists.Add(size, list = new Stack<nint>());
        list.Push(pointer);
        BytesInUse -= size;
        BytesCached += size;
    }

    /// <summary>Frees every cached block (the caller makes sure no queued work still reads them).</summary>
    public void ReleaseCached()
    {
        foreach (var list in freeLists.Values)
            while (list.TryPop(out var pointer)) free(pointer);
        BytesCached = 0;
    }

    public void ResetPeak() => PeakBytes = BytesInUse;

    static long RoundUp(long value, long multiple) => (value + multiple - 1) / multiple * multiple;
}
