using System.Runtime.InteropServices;

namespace DrICL.Kernels.Cuda;

/// <summary>
/// A kernel argument as cuLaunchKernel reads it: the driver copies each parameter's size in bytes from
/// the address it is given, so ints and floats sit in the low 4 bytes of an 8-byte slot and pointers fill it.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal readonly struct KernelArg
{
    [FieldOffset(0)] readonly int intValue;
    [FieldOffset(0)] readonly float floatValue;
    [FieldOffset(0)] readonly nint pointer;

    KernelArg(int v) : this() => intValue = v;
    KernelArg(float v) : this() => floatValue = v;
    KernelArg(nint v) : this() => pointer = v;

    public static implicit operator KernelArg(int v) => new(v);
    public static implicit operator KernelArg(float v) => new(v);
    public static implicit operator KernelArg(nint v) => new(v);
}

/// <summary>Grid size in blocks.</summary>
internal readonly record struct Grid(int X, int Y = 1, int Z = 1)
{
    public static Grid Cover(long items, int perBlock) => new(checked((int)((items + perBlock - 1) / perBlock)));
}

/// <summary>One __global__ function of a loaded module.</summary>
internal sealed unsafe class CudaKernel(nint function, string name, int maxSharedBytes)
{
    const int DefaultSharedLimit = 48 * 1024;
    int sharedAllowed = DefaultSharedLimit;

    public string Name => name;

    /// <summary>Queues the kernel on the stream. Dynamic shared memory above 48 KiB is opted into once per kernel.</summary>
    public void Launch(nint stream, Grid grid, int threads, int sharedBytes, params ReadOnlySpan<KernelArg> args)
    {
        if (grid.X == 0 || grid.Y == 0 || grid.Z == 0) return;
        if (sharedBytes > sharedAllowed)
        {
            if (sharedBytes > maxSharedBytes)
                throw new NotSupportedException($"{name} needs {sharedBytes} bytes of shared memory per block; this GPU allows {maxSharedBytes}");
            CudaDriver.Check(CudaDriver.cuFuncSetAttribute(function, CudaDriver.FuncMaxDynamicSharedSizeBytes, sharedBytes), $"cuFuncSetAttribute({name})");
            sharedAllowed = sharedBytes;
        }
        var slots = stackalloc void*[Math.Max(1, args.Length)];
        fixed (KernelArg* values = args)
        {
            for (int i = 0; i < args.Length; i++) slots[i] = values + i;
            CudaDriver.Check(CudaDriver.cuLaunchKernel(function, (uint)grid.X, (uint)grid.Y, (uint)grid.Z, (uint)threads, 1, 1, (uint)sharedBytes, stream, slots, null),
                $"cuLaunchKernel({name})");
        }
    }
}
