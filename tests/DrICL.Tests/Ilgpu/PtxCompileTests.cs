using DrICL.Kernels.Ilgpu;
using ILGPU.Runtime.Cuda;
using NUnit.Framework;

namespace DrICL.Tests.Ilgpu;

/// <summary>
/// Every ILGPU kernel compiles to PTX for sm_80 and sm_90 with ILGPU's PTX backend, which needs no driver: the
/// CPU accelerator runs the kernels' IL, so only this shows that ILGPU can translate them for a GPU at all (XMath
/// in double, double atomics, ILGPU.Algorithms' group reduction, shared memory, the mma inline PTX).
/// `dricl gpu ptx-report` goes on to assemble the same PTX with ptxas.
/// </summary>
[Category("Gpu")]
public class PtxCompileTests
{
    [Test]
    public void TheCatalogHoldsEveryKernelFamilyAndEveryHeadDimBucket()
    {
        var names = KernelCatalog.All.Select(e => e.Name).ToList();
        Assert.That(names, Is.SupersetOf(new[]
        {
            "Elementwise.Fill", "Embedding.Forward", "RmsNorm.Forward", "Rope.Apply", "SwiGlu.Backward", "Gemm.Tiled",
            "CrossEntropy.Forward", "AdamW.Step", "FlashAttention.Forward", "FlashAttention.BackwardDkDv",
            "FlashAttentionBf16.Forward<HeadDim32>", "FlashAttentionBf16.Forward<HeadDim128>", "FlashAttentionBf16.Backward<HeadDim64>",
        }));
        Assert.That(names, Is.Unique);
        Assert.That(KernelCatalog.All.Where(e => e.Hot).Select(e => e.Name), Has.Some.StartsWith("FlashAttentionBf16.").And.Some.StartsWith("AdamW."));
        Assert.That(names, Has.None.StartsWith("AttentionMask."), "device helpers are internal, not entry points");
    }

    [Test]
    public void EveryKernelCompilesForAmpereAndHopper()
    {
        var context = KernelCatalog.PtxContext();
        try
        {
            foreach (var architecture in new[] { CudaArchitecture.SM_80, CudaArchitecture.SM_90 })
                foreach (var entry in KernelCatalog.All)
                {
                    string ptx = KernelCatalog.EmitPtx(context, entry, architecture, CudaInstructionSet.ISA_80);
                    Assert.That(ptx, Does.Contain(".entry Kernel_"), $"{entry.Name} for {architecture}");
                }
        }
        finally
        {
            context.Dispose();
        }
    }
}
