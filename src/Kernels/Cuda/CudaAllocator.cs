using System.Collections.Concurrent;

namespace DrICL.Kernels.Cuda;

/// <summary>One cuMemAlloc'd block, owned by the tensors that view it; freed after the GC finds it unreachable.</summary>
internal sealed class CudaMemory
{
    readonly ConcurrentQueue<nint> released;

    public nint Pointer { get; }
    public long Bytes { get; }

    public CudaMemory(nint pointer, long bytes, ConcurrentQueue<nint> released)
    {
        Pointer = pointer;
        Bytes = bytes;
        this.released = released;
    }

    // The finalizer thread has no CUDA context and kernels may still be reading the block: hand the
    // pointer back to the allocator, which frees it on its own thread after the stream drains.
    ~CudaMemory() => released.Enqueue(Pointer);
}

/// <summary>
/// Plain device allocations (cuMemAlloc, never managed memory) for tensors and scratch. Tensors have no
/// Dispose, so device memory follows the GC: unreachable blocks are queued by their finalizers and freed
/// at the next allocation. When the GPU runs out, a full collection usually frees enough to retry.
/// </summary>
internal sealed class CudaAllocator(nint stream)
{
    readonly ConcurrentQueue<nint> released = new();

    public CudaMemory Allocate(long bytes)
    {
        FreeReleased();
        // cuMemAlloc rejects zero bytes; empty tensors still get a (tiny) block of their own.
        var size = (nuint)Math.Max(bytes, 4);
        int result = CudaDriver.cuMemAlloc(out var pointer, size);
        if (result == CudaOutOfMemory)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            FreeReleased();
            result = CudaDriver.cuMemAlloc(out pointer, size);
        }
        CudaDriver.Check(result, $"cuMemAlloc_v2({bytes} bytes)");
        return new CudaMemory(pointer, bytes, released);
    }

    /// <summary>Frees what finalizers queued, after the stream has finished any kernel that used it.</summary>
    public void FreeReleased()
    {
        if (released.IsEmpty) return;
        CudaDriver.Check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        while (released.TryDequeue(out var pointer)) CudaDriver.Check(CudaDriver.cuMemFree(pointer), "cuMemFree_v2");
    }

    const int CudaOutOfMemory = 2; // CUDA_ERROR_OUT_OF_MEMORY
}
