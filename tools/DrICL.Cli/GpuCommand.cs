using System.CommandLine;
using DrICL.Kernels.Ilgpu;
using ILGPU.Runtime.Cuda;

namespace DrICL.Cli;

/// <summary>
/// `dricl gpu ptx-report [--arch sm_80 --arch sm_90] [--ptx-dir DIR]`: compiles every ILGPU kernel
/// (KernelCatalog) to PTX with ILGPU's own PTX backend, assembles it with ptxas and prints registers, stack
/// frame, spills and shared memory per kernel and architecture. Needs ptxas but no GPU and no driver.
/// Exit 0 when every kernel assembles and no hot kernel spills or keeps a stack frame, 1 otherwise.
/// </summary>
public static class GpuCommand
{
    static readonly string[] DefaultArchitectures = ["sm_80", "sm_90"];

    // ptxas 11.8 (Debian bookworm) reads PTX up to ISA 7.8, which has every instruction the kernels use.
    static readonly CudaInstructionSet InstructionSet = CudaInstructionSet.ISA_78;

    public static Command Create()
    {
        var arch = new Option<string[]>("--arch") { Description = $"architecture to assemble for, repeatable (default: {string.Join(", ", DefaultArchitectures)})" };
        var ptxDir = new Option<DirectoryInfo?>("--ptx-dir") { Description = "also write each kernel's PTX into this folder (KERNEL.ARCH.ptx)" };
        var report = new Command("ptx-report", "Registers, spills, stack frame and shared memory of every ILGPU kernel, from ptxas (no GPU needed)") { arch, ptxDir };
        report.SetAction(parse => CliError.Guard(parse, output =>
            Report(parse.GetValue(arch) is { Length: > 0 } a ? a : DefaultArchitectures, parse.GetValue(ptxDir), output)));
        return new Command("gpu", "GPU kernel tools") { report };
    }

    static int Report(string[] architectures, DirectoryInfo? ptxDir, TextWriter output)
    {
        var targets = architectures.Distinct().Select(a => (Name: a, Architecture: Parse(a))).ToList();
        string ptxas = Ptxas.Find() ?? throw new CliError("ptxas not found on PATH or in /opt/dricl-cuda/bin: run .ci/install-ptxas (Debian's nvidia-cuda-toolkit, CUDA 11.8)");
        if (KernelCatalog.All.Count == 0) throw new CliError("no ILGPU kernels found in DrICL.Kernels (static classes named …Kernels in DrICL.Kernels.Ilgpu)");
        ptxDir?.Create();

        output.WriteLine($"{"kernel",-40} {"arch",-6} {"regs",5} {"stack",6} {"spill st/ld",12} {"smem",7}");
        int assembled = 0, failed = 0, hotProblems = 0;
        var context = KernelCatalog.PtxContext();
        try
        {
            foreach (var entry in KernelCatalog.All)
                foreach (var (name, architecture) in targets)
                {
                    string ptx;
                    try
                    {
                        ptx = KernelCatalog.EmitPtx(context, entry, architecture, InstructionSet);
                    }
                    catch (Exception e) when (e is not CliError)
                    {
                        // A failed compile leaves the ILGPU context unusable for later kernels.
                        context.Dispose();
                        context = KernelCatalog.PtxContext();
                        output.WriteLine($"{entry.Name,-40} {name,-6} FAILED to compile: {e.Message.Split('\n')[0]}");
                        failed++;
                        continue;
                    }
                    if (ptxDir is not null) File.WriteAllText(Path.Combine(ptxDir.FullName, $"{entry.Name}.{name}.ptx"), ptx);
                    var r = Ptxas.Assemble(ptxas, ptx, name);
                    assembled++;
                    bool problem = entry.Hot && (r.Spills || r.StackFrameBytes > 0);
                    if (problem) hotProblems++;
                    string verdict = (entry.Specialized ? " *" : "") + (problem ? "  HOT: spills or stack frame" : entry.Hot ? "  hot" : "");
                    output.WriteLine($"{entry.Name,-40} {name,-6} {r.Registers,5} {r.StackFrameBytes,6} {$"{r.SpillStoreBytes}/{r.SpillLoadBytes}",12} {r.SharedBytes,7}{verdict}");
                }
        }
        finally
        {
            context.Dispose();
        }
        if (KernelCatalog.All.Any(e => e.Specialized))
            output.WriteLine("* takes a SpecializedValue, compiled here unspecialized (the value a parameter); at launch ILGPU compiles one PTX per value");
        output.WriteLine($"{assembled}/{assembled + failed} assembled ({KernelCatalog.All.Count} kernels × {targets.Count} architectures, PTX ISA 7.8, {ptxas}); " +
                         (hotProblems == 0 ? "no hot kernel spills or keeps a stack frame" : $"{hotProblems} hot kernel builds spill or keep a stack frame"));
        return failed == 0 && hotProblems == 0 ? 0 : 1;
    }

    static CudaArchitecture Parse(string arch) => arch switch
    {
        "sm_80" => CudaArchitecture.SM_80,
        "sm_86" => CudaArchitecture.SM_86,
        "sm_89" => CudaArchitecture.SM_89,
        "sm_90" => CudaArchitecture.SM_90,
        _ => throw new CliError($"--arch {arch}: expected sm_80, sm_86, sm_89 or sm_90 (the tensor-core kernels need sm_80 or newer)"),
    };
}
