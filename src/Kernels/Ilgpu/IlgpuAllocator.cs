using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// One device buffer, owned by the tensors that view it; returned to the allocator after the GC finds it
/// unreachable. While it lives, the GC counts its bytes as memory pressure, so that dead tensors holding
/// gigabytes of device memory get collected although their managed objects are tiny.
/// </summary>
internal sealed class IlgpuMemory
{
    readonly ConcurrentQueue<(MemoryBuffer1D<float, Stride1D.Dense> Buffer, long Bytes)> released;
    readonly long pressure;

    public MemoryBuffer1D<float, Stride1D.Dense> Buffer { get; }
    /// <summary>The bytes asked for; the buffer itself is BlockCache.SizeClass(Bytes).</summary>
    public long Bytes { get; }

    public IlgpuMemory(MemoryBuffer1D<float, Stride1D.Dense> buffer, long bytes, ConcurrentQueue<(MemoryBuffer1D<float, Stride1D.Dense>, long)> released)
    {
        Buffer = buffer;
        Bytes = bytes;
        this.released = released;
        pressure = BlockCache.SizeClass(bytes);
        GC.AddMemoryPressure(pressure);
    }

    // The finalizer thread has no bound accelerator: hand the buffer back to the allocator, which recycles
    // it on the thread that drives the device.
    ~IlgpuMemory()
    {
        GC.RemoveMemoryPressure(pressure);
        released.Enqueue((Buffer, Bytes));
    }
}

/// <summary>
/// A caching allocator of ILGPU buffers for tensors and scratch (the ideas of the CUDA backend's allocator).
/// Tensors have no Dispose, so buffers follow the GC: a dead tensor's finalizer queues its buffer, and the
/// next allocation moves it to the BlockCache's free list, from which a later tensor of the same size
/// class takes it without a free/allocate pair (each of which synchronizes a GPU).
/// <para>
/// Reuse without synchronizing is safe because all work runs on one stream. A buffer is queued only when
/// no tensor views it, so no further work can be queued against it; work already queued may still read
/// or write it, but everything its next owner does is queued on the same stream after that work. The one
/// hazard would be host code that takes a view, then allocates, then launches: allocation may recycle the
/// buffer of a tensor that died after its view was taken. IlgpuDevice takes scratch before any tensor's view.
/// Freeing does not wait for queued work, so the cache is released only after the stream drains (on
/// out-of-memory and on Dispose). The allocator keeps every buffer it made reachable until it frees it,
/// so ILGPU's own finalizers never free one behind its back.
/// </para>
/// </summary>
internal sealed class IlgpuAllocator
{
    readonly Accelerator accelerator;
    readonly AcceleratorStream stream;
    readonly BlockCache<MemoryBuffer1D<float, Stride1D.Dense>> cache;
    readonly HashSet<MemoryBuffer1D<float, Stride1D.Dense>> owned = [];
    readonly ConcurrentQueue<(MemoryBuffer1D<float, Stride1D.Dense> Buffer, long Bytes)> released = new();

    public IlgpuAllocator(Accelerator accelerator, AcceleratorStream stream)
    {
        this.accelerator = accelerator;
        this.stream = stream;
        cache = new BlockCache<MemoryBuffer1D<float, Stride1D.Dense>>(AllocateBlock, FreeBlock);
    }

    /// <summary>Bytes of buffers held by live (or not yet finalized) tensors, by size class.</summary>
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

    public IlgpuMemory Allocate(long bytes)
    {
        ReturnReleased();
        var buffer = cache.Take(bytes);
        if (buffer is null)
        {
            // Out of memory: first give the cached buffers back, then let a full collection find dead
            // tensors, whose buffers come back through the cache.
            ReleaseCache();
            buffer = cache.Take(bytes);
        }
        if (buffer is null)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            ReturnReleased();
            ReleaseCache();
            buffer = cache.Take(bytes);
        }
        if (buffer is null) throw new OutOfMemoryException($"{accelerator.Name}: cannot allocate {bytes} bytes ({BytesInUse} in use)");
        return new IlgpuMemory(buffer, bytes, released);
    }

    /// <summary>Waits for the stream, then frees every cached buffer.</summary>
    public void ReleaseCache()
    {
        ReturnReleased();
        if (cache.BytesCached == 0) return;
        stream.Synchronize();
        cache.ReleaseCached();
    }

    /// <summary>Waits for the stream, then frees every buffer, cached or not (the device is closing).</summary>
    public void FreeAll()
    {
        stream.Synchronize();
        foreach (var buffer in owned) buffer.Dispose();
        owned.Clear();
    }

    /// <summary>Moves the buffers finalizers queued onto the free lists.</summary>
    void ReturnReleased()
    {
        while (released.TryDequeue(out var block)) cache.Return(block.Buffer, block.Bytes);
    }

    MemoryBuffer1D<float, Stride1D.Dense>? AllocateBlock(long size)
    {
        try
        {
            var buffer = accelerator.Allocate1D<float>(size / sizeof(float));
            owned.Add(buffer);
            return buffer;
        }
        catch (Exception e) when (e is OutOfMemoryException || e is ILGPU.Runtime.Cuda.CudaException { Error: "CUDA_ERROR_OUT_OF_MEMORY" })
        {
            return null;
        }
    }

    void FreeBlock(MemoryBuffer1D<float, Stride1D.Dense> buffer)
    {
        owned.Remove(buffer);
        buffer.Dispose();
    }
}
