using System.CommandLine;
using DrICL.Kernels;
using DrICL.Kernels.Profiling;

namespace DrICL.Cli;

/// <summary>
/// The `--profile FILE.json` option shared by every command that runs the model: when given, the opened
/// device is wrapped in a ProfiledDevice that writes a Chrome trace of every op, nested under the model's
/// ranges, with the machine's measured peaks (cached) for `dricl profile`. One line to add to a command:
/// <c>using var dev = profile.Wrap(parse, device.Open(parse), console);</c> after <c>profile.AddTo(command)</c>.
/// </summary>
public sealed class ProfileOption
{
    readonly Option<FileInfo?> profile = new("--profile")
    {
        Description = "write a Chrome trace (Perfetto, chrome://tracing) of every device op to this JSON file; summarize it with `dricl profile FILE`",
    };

    public void AddTo(Command command) => command.Options.Add(profile);

    /// <summary>The device itself without --profile; with it, the profiled device (disposing it writes the trace and disposes the device).</summary>
    public IDevice Wrap(ParseResult parse, IDevice device, TextWriter console)
    {
        if (parse.GetValue(profile) is not { } file) return device;
        if (!Directory.Exists(file.DirectoryName))
        {
            device.Dispose();
            throw new CliError($"--profile {file.FullName}: no such folder {file.DirectoryName}");
        }
        try
        {
            var peaks = MachinePeaks.For(device, MachinePeaks.DefaultCacheDirectory(Environment.GetEnvironmentVariable), console.WriteLine);
            console.WriteLine($"profiling {device.Name} into {file.FullName}; peaks {peaks.GflopPerS:F1} GFLOP/s ({peaks.Compute}), {peaks.GbPerS:F1} GB/s ({peaks.Memory})");
            return new ProfiledDevice(device, file.FullName, new Dictionary<string, object>
            {
                ["command"] = parse.CommandResult.Command.Name,
                ["peak_gflop_per_s"] = Math.Round(peaks.GflopPerS, 2),
                ["peak_gb_per_s"] = Math.Round(peaks.GbPerS, 2),
                ["peak_compute"] = peaks.Compute,
                ["peak_memory"] = peaks.Memory,
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            device.Dispose();
            throw new CliError($"--profile {file.FullName}: {e.Message}", e);
        }
    }
}
