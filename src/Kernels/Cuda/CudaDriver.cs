using System.Runtime.InteropServices;

namespace DrICL.Kernels.Cuda;

/// <summary>
/// P/Invoke over the CUDA driver API (libcuda.so.1, installed with the NVIDIA driver, not the toolkit).
/// Only the calls the engine makes: one device, its primary context, plain device allocations
/// (never managed memory), one stream, events for timing, modules from PTX and kernel launches.
/// Handles (contexts, modules, functions, streams, events) are opaque pointers; CUdeviceptr is 64-bit.
/// </summary>
internal static unsafe partial class CudaDriver
{
    const string Library = "libcuda.so.1";

    // CUdevice_attribute values used by the engine.
    public const int ComputeCapabilityMajor = 75;
    public const int ComputeCapabilityMinor = 76;
    public const int MaxSharedMemoryPerBlockOptin = 97;
    // CUfunction_attribute: dynamic shared memory above 48 KiB must be asked for per kernel.
    public const int FuncMaxDynamicSharedSizeBytes = 8;
    public const uint StreamNonBlocking = 1;

    [LibraryImport(Library)] public static partial int cuInit(uint flags);
    [LibraryImport(Library)] public static partial int cuDriverGetVersion(out int version);
    [LibraryImport(Library)] public static partial int cuDeviceGetCount(out int count);
    [LibraryImport(Library)] public static partial int cuDeviceGet(out int device, int ordinal);
    [LibraryImport(Library)] public static partial int cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(Library)] public static partial int cuDeviceGetAttribute(out int value, int attribute, int device);

    [LibraryImport(Library)] public static partial int cuDevicePrimaryCtxRetain(out nint context, int device);
    [LibraryImport(Library, EntryPoint = "cuDevicePrimaryCtxRelease_v2")] public static partial int cuDevicePrimaryCtxRelease(int device);
    [LibraryImport(Library)] public static partial int cuCtxSetCurrent(nint context);

    [LibraryImport(Library, EntryPoint = "cuMemAlloc_v2")] public static partial int cuMemAlloc(out nint pointer, nuint bytes);
    [LibraryImport(Library, EntryPoint = "cuMemFree_v2")] public static partial int cuMemFree(nint pointer);
    [LibraryImport(Library, EntryPoint = "cuMemcpyHtoDAsync_v2")] public static partial int cuMemcpyHtoDAsync(nint dst, void* src, nuint bytes, nint stream);
    [LibraryImport(Library, EntryPoint = "cuMemcpyDtoHAsync_v2")] public static partial int cuMemcpyDtoHAsync(void* dst, nint src, nuint bytes, nint stream);
    [LibraryImport(Library, EntryPoint = "cuMemcpyDtoDAsync_v2")] public static partial int cuMemcpyDtoDAsync(nint dst, nint src, nuint bytes, nint stream);
    [LibraryImport(Library, EntryPoint = "cuMemsetD32Async")] public static partial int cuMemsetD32Async(nint dst, uint value, nuint count, nint stream);

    [LibraryImport(Library)] public static partial int cuStreamCreate(out nint stream, uint flags);
    [LibraryImport(Library, EntryPoint = "cuStreamDestroy_v2")] public static partial int cuStreamDestroy(nint stream);
    [LibraryImport(Library)] public static partial int cuStreamSynchronize(nint stream);

    [LibraryImport(Library)] public static partial int cuEventCreate(out nint evt, uint flags);
    [LibraryImport(Library, EntryPoint = "cuEventDestroy_v2")] public static partial int cuEventDestroy(nint evt);
    [LibraryImport(Library)] public static partial int cuEventRecord(nint evt, nint stream);
    [LibraryImport(Library)] public static partial int cuEventSynchronize(nint evt);
    [LibraryImport(Library)] public static partial int cuEventElapsedTime(out float milliseconds, nint start, nint end);

    [LibraryImport(Library)] public static partial int cuModuleLoadData(out nint module, void* image);
    [LibraryImport(Library)] public static partial int cuModuleUnload(nint module);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial int cuModuleGetFunction(out nint function, nint module, string name);
    [LibraryImport(Library)] public static partial int cuFuncSetAttribute(nint function, int attribute, int value);
    [LibraryImport(Library)] public static partial int cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, nint stream, void** parameters, void** extra);

    [LibraryImport(Library)] public static partial int cuGetErrorName(int error, out byte* name);
    [LibraryImport(Library)] public static partial int cuGetErrorString(int error, out byte* text);

    /// <summary>Throws a CudaException naming the error (CUDA_ERROR_...) and the call unless result is CUDA_SUCCESS.</summary>
    public static void Check(int result, string call)
    {
        if (result != 0) throw new CudaException(call, ErrorName(result), ErrorString(result));
    }

    /// <summary>The driver's name for an error code; CUDA_ERROR_&lt;code&gt; when the driver does not know it.</summary>
    public static string ErrorName(int result) =>
        cuGetErrorName(result, out var name) == 0 && name != null ? Marshal.PtrToStringUTF8((nint)name)! : $"CUDA_ERROR_{result}";

    static string? ErrorString(int result) =>
        cuGetErrorString(result, out var text) == 0 && text != null ? Marshal.PtrToStringUTF8((nint)text) : null;
}
