using System.Text.Json;
using System.Text.Json.Serialization;

namespace DrICL.Kernels.Profiling;

/// <summary>
/// The two roofs of a device's roofline, as measured by PeakBenchmarks: fp32 compute (GFLOP/s) and memory
/// bandwidth (GB/s), each with how it was measured. Measuring takes seconds, so results are cached per
/// machine and device in $DRICL_CACHE_DIR or $XDG_CACHE_HOME/dricl (default ~/.cache/dricl), peaks.json.
/// </summary>
public sealed record MachinePeaks(double GflopPerS, double GbPerS, string Compute, string Memory)
{
    /// <summary>The FLOPs per byte where the two roofs meet: ops below it are bound by memory, above it by compute.</summary>
    [JsonIgnore]
    public double RidgeIntensity => GflopPerS / GbPerS;

    /// <summary>The fastest an op with these counts can run here: its time at whichever roof binds it.</summary>
    public double BoundSeconds(OpCost cost) => Math.Max(cost.Flops / (GflopPerS * 1e9), cost.Bytes / (GbPerS * 1e9));

    /// <summary>Peaks for this device on this machine: from the cache, else measured now (log says so) and cached.</summary>
    public static MachinePeaks For(IDevice device, string cacheDirectory, Action<string>? log = null)
    {
        string path = Path.Combine(cacheDirectory, "peaks.json"), key = MachineKey(device);
        var cache = Read(path);
        if (cache.TryGetValue(key, out var cached)) return cached;
        log?.Invoke($"measuring the peaks of {device.Name} on this machine (once; cached in {path})");
        var peaks = Measure(device);
        cache[key] = peaks;
        Directory.CreateDirectory(cacheDirectory);
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(cache, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, path, overwrite: true);
        return peaks;
    }

    public static MachinePeaks Measure(IDevice device)
    {
        if (device is Cpu.CpuDevice)
        {
            var (gflops, compute) = PeakBenchmarks.CpuFma();
            var (gbps, memory) = PeakBenchmarks.CpuTriad();
            return new MachinePeaks(gflops, gbps, compute, memory);
        }
        var (deviceGflops, gemm) = PeakBenchmarks.DeviceGemm(device);
        var (deviceGbps, copy) = PeakBenchmarks.DeviceCopy(device);
        return new MachinePeaks(deviceGflops, deviceGbps, gemm, copy);
    }

    /// <summary>The cache folder: $DRICL_CACHE_DIR, else $XDG_CACHE_HOME/dricl, else ~/.cache/dricl.</summary>
    public static string DefaultCacheDirectory(Func<string, string?> environment)
    {
        string? explicitDir = environment("DRICL_CACHE_DIR");
        if (!string.IsNullOrEmpty(explicitDir)) return explicitDir;
        string? xdg = environment("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "dricl");
    }

    // The same host, CPU model, core count and device: peaks measured under any of them differing do not apply.
    static string MachineKey(IDevice device) =>
        $"{Environment.MachineName}|{CpuModel()}|{Environment.ProcessorCount} threads|{device.Name}";

    static string CpuModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo)) return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        foreach (var line in File.ReadLines(cpuinfo))
            if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }

    // An unreadable or stale cache is measured again, not an error.
    static Dictionary<string, MachinePeaks> Read(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<Dictionary<string, MachinePeaks>>(File.ReadAllText(path)) ?? [] : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
