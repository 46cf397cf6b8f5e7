using System.CommandLine;
using System.Diagnostics;
using System.Text.RegularExpressions;
using DrICL.Kernels.Cuda;

namespace DrICL.Cli;

/// <summary>
/// `dricl cuda compile-check [--arch compute_80 ...]`: compiles every embedded kernel file with NVRTC for each
/// architecture, bypassing the PTX cache. Needs libnvrtc but no GPU and no driver, so any machine can
/// check that the CUDA C compiles. Exit 0 only if every file compiles for every architecture.
/// </summary>
public static partial class CudaCommand
{
    public static readonly IReadOnlyList<string> DefaultArchitectures = ["compute_80", "compute_90"];

    public static Command Create()
    {
        var arch = new Option<string[]>("--arch")
        {
            Description = $"virtual architecture to compile for, repeatable (default: {string.Join(", ", DefaultArchitectures)}, less those this NVRTC lacks)",
        };
        var compileCheck = new Command("compile-check", "Compile every CUDA kernel with NVRTC for each architecture (no GPU needed); exit 0 only if all compile") { arch };
        compileCheck.SetAction(parse => CliError.Guard(parse, output => CompileCheck(parse.GetValue(arch) ?? [], output)));
        return new Command("cuda", "CUDA backend tools") { compileCheck };
    }

    static int CompileCheck(string[] requested, TextWriter output)
    {
        var architectures = requested.Length > 0 ? requested.Distinct().ToList() : [.. DefaultArchitectures];
        foreach (var a in architectures)
            if (!ArchitectureName().IsMatch(a)) throw new CliError($"--arch {a}: expected a virtual architecture such as compute_80");

        Nvrtc nvrtc;
        try
        {
            nvrtc = Nvrtc.Shared;
        }
        catch (DllNotFoundException e)
        {
            throw new CliError($"{e.Message}; on Debian run .ci/install-nvrtc");
        }
        var supported = nvrtc.SupportedArchitectures;
        output.WriteLine($"{nvrtc}: targets {string.Join(" ", supported.Select(a => $"compute_{a}"))}");

        if (requested.Length == 0)
        {
            // Only the defaults are filtered: an architecture asked for by name is compiled, and fails, as asked.
            foreach (var a in architectures.Where(a => !supported.Contains(Number(a))))
                output.WriteLine($"skipped {a}: {nvrtc} does not target it (newest: compute_{supported.Max()})");
            architectures = [.. architectures.Where(a => supported.Contains(Number(a)))];
            if (architectures.Count == 0) throw new CliError($"{nvrtc} targets none of {string.Join(", ", DefaultArchitectures)}; pass --arch");
        }

        var compiler = new NvrtcCompiler(nvrtc, cacheDirectory: null);
        int total = 0, compiled = 0, kernels = 0;
        foreach (var source in KernelSources.Files)
            foreach (var a in architectures)
            {
                total++;
                var clock = Stopwatch.StartNew();
                try
                {
                    string ptx = compiler.Compile(source, a);
                    compiled++;
                    int entries = EntryPoint().Count(ptx);
                    if (a == architectures[0]) kernels += entries;
                    output.WriteLine($"{source.FileName,-28} {a,-11} ok    {entries,2} {(entries == 1 ? "kernel, " : "kernels,")} {ptx.Length / 1024.0,7:F1} KiB PTX, {clock.ElapsedMilliseconds,5} ms");
                }
                catch (CudaException e)
                {
                    output.WriteLine($"{source.FileName,-28} {a,-11} FAIL  {e.ErrorName}");
                    if (e.Detail is not null) output.WriteLine(e.Detail);
                }
            }
        output.WriteLine($"{compiled}/{total} compiled ({KernelSources.Files.Count} files × {architectures.Count} architecture{(architectures.Count == 1 ? "" : "s")}; {kernels} kernels)");
        return compiled == total ? 0 : 1;
    }

    static int Number(string architecture) => int.Parse(architecture["compute_".Length..]);

    [GeneratedRegex(@"^compute_\d+$")]
    private static partial Regex ArchitectureName();

    [GeneratedRegex(@"^\.(visible )?\.entry ", RegexOptions.Multiline)]
    private static partial Regex EntryPoint();
}
