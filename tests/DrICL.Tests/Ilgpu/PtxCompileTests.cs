using System.Reflection;
using DrICL.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using NUnit.Framework;

namespace DrICL.Tests.Ilgpu;

/// <summary>
/// Every IlgpuDevice kernel compiles to PTX for sm_80 and sm_90 with ILGPU's PTX backend, which needs no
/// driver: the CPU accelerator runs the kernels' IL, so only this shows that ILGPU can translate them for a
/// GPU at all (XMath in double, double atomics, ILGPU.Algorithms' group reduction, shared memory).
/// ILGPU writes `.target` as the lowest architecture with the capabilities used, not the one asked for.
/// </summary>
[Category("Gpu")]
public class PtxCompileTests
{
    static readonly Type[] KernelClasses =
    [
        typeof(ElementwiseKernels), typeof(EmbeddingKernels), typeof(RmsNormKernels), typeof(RopeKernels), typeof(SwiGluKernels),
        typeof(CrossEntropyKernels), typeof(AdamWKernels), typeof(GemmKernels),
    ];

    /// <summary>The kernels: the public static void methods of the kernel classes.</summary>
    static IEnumerable<MethodInfo> Kernels() =>
        KernelClasses.SelectMany(c => c.GetMethods(BindingFlags.Public | BindingFlags.Static)).Where(m => m.ReturnType == typeof(void));

    [Test]
    public void EveryKernelCompilesForAmpereAndHopper()
    {
        var compiled = new List<string>();
        foreach (var architecture in new[] { CudaArchitecture.SM_80, CudaArchitecture.SM_90 })
        {
            using var context = Context.Create(b => b.Optimize(OptimizationLevel.O2).EnableAlgorithms());
            using var backend = new PTXBackend(context, new CudaCapabilityContext(architecture), architecture, CudaInstructionSet.ISA_80, nvvmAPI: null);
            foreach (var kernel in Kernels())
            {
                // Kernels whose first parameter is an Index1D are implicitly grouped (launched over an index); the rest are explicitly grouped.
                var entry = kernel.GetParameters()[0].ParameterType == typeof(Index1D)
                    ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
                    : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
                var ptx = ((PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty)).PTXAssembly;
                Assert.That(ptx, Does.Contain($".entry Kernel_{kernel.Name}("), $"{kernel.DeclaringType!.Name}.{kernel.Name} for {architecture}");
                compiled.Add($"{kernel.DeclaringType!.Name}.{kernel.Name}");
            }
        }
        Assert.That(compiled, Has.Count.EqualTo(2 * 17));
    }
}
