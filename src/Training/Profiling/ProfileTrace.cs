using System.Text.Json;
using DrICL.Kernels.Profiling;

namespace DrICL.Training.Profiling;

/// <summary>One complete event of a trace; Parent is the smallest slice that contains it in time (null at the top).</summary>
public sealed class TraceSlice(string name, bool isOp, double start, double duration, OpCost cost, string? shapes)
{
    public string Name { get; } = name;
    public bool IsOp { get; } = isOp;
    /// <summary>Start and duration in microseconds.</summary>
    public double Start { get; } = start;
    public double Duration { get; } = duration;
    public double End => Start + Duration;
    public OpCost Cost { get; } = cost;
    public string? Shapes { get; } = shapes;
    public TraceSlice? Parent { get; internal set; }

    public IEnumerable<TraceSlice> Ancestors()
    {
        for (var p = Parent; p is not null; p = p.Parent) yield return p;
    }
}

/// <summary>
/// A trace written by ProfiledDevice, read back: its complete events (ph "X") nested by time, and from
/// otherData the device, the timer and the machine's peaks. Other tools' traces read too, without peaks.
/// </summary>
public sealed class ProfileTrace
{
    // Timestamps are rounded to nanoseconds when written, so a child may overhang its parent by that much.
    const double Slack = 0.002;

    public required IReadOnlyList<TraceSlice> Slices { get; init; }
    public MachinePeaks? Peaks { get; init; }
    public string Device { get; init; } = "?";
    public string Timer { get; init; } = "?";
    public string Command { get; init; } = "?";

    public static ProfileTrace Read(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a JSON trace ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            var events = root.ValueKind == JsonValueKind.Array ? root
                : root.ValueKind == JsonValueKind.Object && root.TryGetProperty("traceEvents", out var list) && list.ValueKind == JsonValueKind.Array ? list
                : throw new InvalidDataException($"{path}: a trace is an object with a traceEvents array, or an array of events");
            var slices = new List<TraceSlice>();
            int index = 0;
            foreach (var e in events.EnumerateArray())
            {
                index++;
                if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("ph", out var ph) || ph.GetString() != "X") continue;
                if (!e.TryGetProperty("name", out var name) || !e.TryGetProperty("ts", out var ts) || !e.TryGetProperty("dur", out var dur)
                    || name.ValueKind != JsonValueKind.String || ts.ValueKind != JsonValueKind.Number || dur.ValueKind != JsonValueKind.Number)
                    throw new InvalidDataException($"{path}: event {index} has ph \"X\" but not a string name and numeric ts and dur");
                bool isOp = e.TryGetProperty("cat", out var cat) && cat.GetString() == "op";
                var cost = new OpCost(0, 0);
                string? shapes = null;
                if (e.TryGetProperty("args", out var args) && args.ValueKind == JsonValueKind.Object)
                {
                    cost = new OpCost(Long(args, "flops"), Long(args, "bytes"));
                    if (args.TryGetProperty("shapes", out var s) && s.ValueKind == JsonValueKind.String) shapes = s.GetString();
                }
                slices.Add(new TraceSlice(name.GetString()!, isOp, ts.GetDouble(), dur.GetDouble(), cost, shapes));
            }
            Nest(slices);
            var other = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("otherData", out var o) && o.ValueKind == JsonValueKind.Object ? o : default;
            return new ProfileTrace
            {
                Slices = slices,
                Peaks = other.ValueKind == JsonValueKind.Object && Double(other, "peak_gflop_per_s") is > 0 and var gflops && Double(other, "peak_gb_per_s") is > 0 and var gbps
                    ? new MachinePeaks(gflops, gbps, String(other, "peak_compute"), String(other, "peak_memory"))
                    : null,
                Device = other.ValueKind == JsonValueKind.Object ? String(other, "device") : "?",
                Timer = other.ValueKind == JsonValueKind.Object ? String(other, "timer") : "?",
                Command = other.ValueKind == JsonValueKind.Object ? String(other, "command") : "?",
            };
        }
    }

    /// <summary>
    /// Sets each slice's parent: in order of start (ranges before ops, longer first at equal starts), the
    /// innermost range still open that contains it. Ops contain nothing.
    /// </summary>
    static void Nest(List<TraceSlice> slices)
    {
        slices.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.IsOp != b.IsOp ? (a.IsOp ? 1 : -1) : b.Duration.CompareTo(a.Duration));
        var open = new Stack<TraceSlice>();
        foreach (var s in slices)
        {
            while (open.Count > 0 && (open.Peek().End + Slack < s.End || (s.Duration > 0 && s.Start + Slack >= open.Peek().End))) open.Pop();
            s.Parent = open.Count > 0 ? open.Peek() : null;
            if (!s.IsOp) open.Push(s);
        }
    }

    static long Long(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? (long)v.GetDouble() : 0;
    static double Double(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;
    static string String(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "?";
}
