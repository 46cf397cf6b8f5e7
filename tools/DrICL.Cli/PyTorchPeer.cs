using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;

namespace DrICL.Cli;

/// <summary>PyTorch's attention timing for one AttentionCase, or why there is none.</summary>
public sealed record PeerAttention(double? ForwardMs, double? BackwardMs, string? Error);

/// <summary>PyTorch's time and peak memory (bytes above its inputs, or in all for the train step) for one case.</summary>
public sealed record PeerMeasurement(double? Ms, long? PeakBytes, string? Error);

/// <summary>Everything the PyTorch script measured, in the plan's order, with its versions and GPU.</summary>
public sealed record PeerResults(string Versions, string Gpu, IReadOnlyList<PeerAttention> Attention, IReadOnlyList<PeerMeasurement> CrossEntropy, PeerMeasurement Train);

/// <summary>
/// Runs scripts/bench_pytorch.py (shipped next to the executable) with a Python that has torch: it reads
/// the plan, measures the same cases with PyTorch on the same GPU and writes JSON, read back here. Python
/// is needed only for this comparison; when it is off, missing or without torch, Run says why in one line
/// and the benchmark prints our numbers alone.
/// </summary>
public static class PyTorchPeer
{
    /// <summary>The script's exit code for "no usable torch" (not installed, or no GPU for it).</summary>
    public const int Unavailable = 3;

    public static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "scripts", "bench_pytorch.py");

    public static JsonSerializerOptions Json { get; } = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>The peer's results, or null and the reason there are none.</summary>
    public static (PeerResults? Results, string? Why) Run(string python, CudaBenchPlan plan, TimeSpan timeout)
    {
        if (python == "none") return (null, "PyTorch comparison off (--pytorch none)");
        string dir = Path.Combine(Path.GetTempPath(), "dricl-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string planPath = Path.Combine(dir, "plan.json"), resultsPath = Path.Combine(dir, "results.json");
            File.WriteAllText(planPath, JsonSerializer.Serialize(plan, Json));
            var start = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in new[] { ScriptPath, planPath, resultsPath }) start.ArgumentList.Add(arg);
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (Win32Exception e)
            {
                return (null, $"no PyTorch comparison: cannot run {python} ({e.Message}); pass --pytorch PATH-TO-PYTHON");
            }
            using (process)
            {
                // Read both pipes while waiting, so that a chatty child cannot fill one and block.
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                if (!process.WaitForExit(timeout))
                {
                    process.Kill(entireProcessTree: true);
                    return (null, $"no PyTorch comparison: {python} {ScriptPath} ran past {timeout.TotalMinutes:F0} minutes");
                }
                string lastLine = LastLine(stderr.Result + stdout.Result);
                if (process.ExitCode == Unavailable) return (null, $"no PyTorch comparison: {lastLine}");
                if (process.ExitCode != 0) return (null, $"no PyTorch comparison: the script failed (exit {process.ExitCode}): {lastLine}");
            }
            return (Parse(File.ReadAllText(resultsPath)), null);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static PeerResults Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        return new PeerResults(
            root.GetProperty("versions").GetString() ?? "",
            root.GetProperty("gpu").GetString() ?? "",
            [.. root.GetProperty("attention").EnumerateArray().Select(a => new PeerAttention(Number(a, "forward_ms"), Number(a, "backward_ms"), Text(a, "error")))],
            [.. root.GetProperty("cross_entropy").EnumerateArray().Select(Measurement)],
            Measurement(root.GetProperty("train")));
    }

    static PeerMeasurement Measurement(JsonElement e) => new(Number(e, "ms"), Number(e, "peak_bytes") is { } b ? (long)b : null, Text(e, "error"));

    static double? Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    static string LastLine(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no output";
}
