using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace DrICL.Cli;

/// <summary>What ptxas -v says one kernel uses on one architecture.</summary>
public sealed record PtxasResources(int Registers, int StackFrameBytes, int SpillStoreBytes, int SpillLoadBytes, int SharedBytes)
{
    public bool Spills => SpillStoreBytes > 0 || SpillLoadBytes > 0;
}

/// <summary>
/// Runs NVIDIA's PTX assembler (Debian's nvidia-cuda-toolkit, CUDA 11.8; .ci/install-ptxas) on one kernel's PTX
/// and reads its resource summary. Needs no GPU and no driver.
/// </summary>
public static partial class Ptxas
{
    /// <summary>The ptxas on PATH, else the one .ci/install-ptxas unpacks; null when there is none.</summary>
    public static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/opt/dricl-cuda/bin"))
        {
            string path = Path.Combine(dir, "ptxas");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>Assembles ptx for arch (sm_80, sm_90) and returns the resources of its one entry point.</summary>
    public static PtxasResources Assemble(string ptxas, string ptx, string arch)
    {
        string dir = Directory.CreateTempSubdirectory("dricl-ptxas-").FullName;
        try
        {
            string input = Path.Combine(dir, "kernel.ptx");
            File.WriteAllText(input, ptx);
            var start = new ProcessStartInfo(ptxas, ["-v", $"-arch={arch}", input, "-o", Path.Combine(dir, "kernel.cubin")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start) ?? throw new CliError($"{ptxas}: could not start");
            var stdout = process.StandardOutput.ReadToEndAsync();
            string log = process.StandardError.ReadToEnd() + stdout.Result;
            process.WaitForExit();
            if (process.ExitCode != 0) throw new CliError($"{ptxas} -arch={arch} failed: {log.Trim().Split('\n')[0]}");
            return Parse(log);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Reads ptxas -v's "N bytes stack frame, N bytes spill stores, N bytes spill loads" and "Used N registers, N bytes smem".</summary>
    public static PtxasResources Parse(string log)
    {
        var frame = FrameLine().Match(log);
        var used = UsedLine().Match(log);
        if (!frame.Success || !used.Success) throw new FormatException($"unexpected ptxas output: {log.Trim()}");
        var smem = SharedBytes().Match(used.Value);
        return new PtxasResources(
            Int(used.Groups[1]), Int(frame.Groups[1]), Int(frame.Groups[2]), Int(frame.Groups[3]),
            smem.Success ? Int(smem.Groups[1]) : 0);
    }

    static int Int(Group g) => int.Parse(g.Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")]
    private static partial Regex FrameLine();

    [GeneratedRegex(@"Used (\d+) registers[^\n]*")]
    private static partial Regex UsedLine();

    [GeneratedRegex(@"(\d+) bytes smem")]
    private static partial Regex SharedBytes();
}
