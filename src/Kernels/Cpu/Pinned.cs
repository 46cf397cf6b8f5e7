using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DrICL.Kernels.Cpu;

/// <summary>
/// Arrays on the pinned object heap, for kernels that work through raw pointers: such an array never moves, so its
/// address stays valid for as long as the array itself is kept alive.
/// </summary>
public static unsafe class Pinned
{
    public static float[] Floats(long n) => GC.AllocateArray<float>(checked((int)n), pinned: true);

    /// <summary>The address of an array allocated pinned (by Floats, or GC.Allocate(Uninitialized)Array with pinned: true).</summary>
    public static T* Address<T>(T[] array) where T : unmanaged => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
}
