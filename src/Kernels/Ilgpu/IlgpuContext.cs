using ILGPU;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// The one ILGPU context configuration of the engine: CUDA and the CPU accelerator (as an NVIDIA-like device:
/// warps of 32, up to 1024 threads a group), O2, ILGPU.Algorithms' intrinsics. Built explicitly rather than with
/// CreateDefault, which turns bounds-check assertions on whenever a debugger is attached.
/// </summary>
public static class IlgpuContext
{
    public static Context Create() =>
        Context.Create(builder => builder.Cuda().CPU(CPUDeviceKind.Nvidia).Optimize(OptimizationLevel.O2).EnableAlgorithms());
}
