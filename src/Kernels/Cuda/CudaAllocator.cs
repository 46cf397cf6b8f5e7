using System.Collections.Concurrent;
using DrICL.Kernels.Ilgpu;

namespace DrICL.Kernels.Cuda;

/// <summary>
/// One device block, owned by the tensors that view it; returned to the allocator after the GC finds it
/// unreachable. While it lives, the GC counts its bytes as memory pressure, so that dead tensors holding
/// gigabytes of device memory get collected although their managed objects are tiny.
/// </summary>
internal sealed class CudaMemory
{
    readonly ConcurrentQueue<(nint Pointer, long Bytes)> released;
    readonly long pressure;

    public nint Pointer { get; }
    /// <summary>The bytes asked for; the block itself is BlockCache.SizeClass(Bytes).</summary>
    public long Bytes { get; }

    public CudaMemory(nint pointer, long bytes, ConcurrentQueue<(nint, long)> released)
    {
        Pointer = pointer;
        Bytes = bytes;
        this.released = released;
        pressure = BlockCache.SizeClass(bytes);
        GC.AddMemoryPressure(pressure);
    }

    // The finalizer thread has no CUDA context: hand the block back to the allocator, which recycles it on
    // the thread that drives the device.
    ~CudaMemory()
    {
        GC.RemoveMemoryPressure(pressure);
        released.Enqueue((Pointer, Bytes));
    }
}

/// <summary>
/// A caching allocator of plain device memory (cuMemAlloc, never managed memory) for tensors and scratch.
/// Tensors have no Dispose, so blocks follow the GC: a dead tensor's finalizer queues its block, and the
/// next allocation moves it to the BlockCache's free list, from which a later tensor of the same size
/// class takes it without a cuMemFree/cuMemAlloc pair (each of which synchronizes the GPU).
/// <para>
/// Reuse without synchronizing is safe because all work runs on one stream. A block is queued only when
/// no tensor views it, so no further work can be queued against it; work already queued may still read
/// or write it, but everything its next owner does (uploads, memsets, kernels, cuBLAS calls) is queued on
/// the same stream after that work, so the GPU runs it afterwards. The one hazard would be host code that
/// takes a pointer, then allocates, then launches: allocation may recycle the block of a tensor that died
/// after its pointer was read. CudaDevice takes scratch before reading any tensor's pointer for that reason.
/// Freeing is different: cuMemFree does not wait for queued work, so the cache is released only after
/// the stream drains (on out-of-memory and on Dispose).
/// </para>
/// </summary>
internal sealed class CudaAllocator
{
    readonly nint stream;
    readonly BlockCache<nint> cache;
    readonly ConcurrentQueue<(nint Pointer, long Bytes)> released = new();

    public CudaAllocator(nint stream)
    {
        this.stream = stream;
        cache = new BlockCache<nint>(AllocateBlock, pointer => CudaDriver.Check(CudaDriver.cuMemFree(pointer), "cuMemFree_v2"));
    }

    /// <summary>Bytes of blocks held by live (or not yet finalized) tensors, by size class.</summary>
    public long BytesInUse
    {
        get
        {
            ReturnReleased();
            return cache.BytesInUse;
        }
    }

    /// <summary>The most BytesInUse reached since the device opened or ResetPeak.</summary>
    public long PeakBytes => cache.PeakBytes;

    public void ResetPeak()
    {
        ReturnReleased();
        cache.ResetPeak();
    }

    public CudaMemory Allocate(long bytes)
    {
        ReturnReleased();
        nint pointer = cache.Take(bytes);
        if (pointer == 0)
        {
            // Out of memory: first give the cached blocks back to the driver, then let a full collection
            // find dead tensors, whose blocks come back through the cache.
            ReleaseCache();
            pointer = cache.Take(bytes);
        }
        if (pointer == 0)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            ReturnReleased();
            ReleaseCache();
            pointer = cache.Take(bytes);
        }
        if (pointer == 0) throw new CudaException($"cuMemAlloc_v2({bytes} bytes, {BytesInUse} in use)", "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
        return new CudaMemory(pointer, bytes, released);
    }

    /// <summary>Waits for the stream, then frees every cached block.</summary>
    public void ReleaseCache()
    {
        ReturnReleased();
        if (cache.BytesCached == 0) return;
        CudaDriver.Check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        cache.ReleaseCached();
    }

    /// <summary>Moves the blocks finalizers queued onto the free lists.</summary>
    void ReturnReleased()
    {
        while (released.TryDequeue(out var block)) cache.Return(block.Pointer, block.Bytes);
    }

    nint AllocateBlock(long size)
    {
        int result = CudaDriver.cuMemAlloc(out var pointer, (nuint)size);
        if (result == CudaOutOfMemory) return 0;
        CudaDriver.Check(result, $"cuMemAlloc_v2({size} bytes)");
        return pointer;
    }

    const int CudaOutOfMemory = 2; // CUDA_ERROR_OUT_OF_MEMORY
}
