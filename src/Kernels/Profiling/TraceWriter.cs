using System.Text;
using System.Text.Json;

namespace DrICL.Kernels.Profiling;

/// <summary>
/// Writes a Chrome trace-event JSON file (the format Perfetto and chrome://tracing open): one complete
/// event (ph "X", ts and dur in microseconds) per slice, all on one process and thread so that nesting in
/// time is nesting in the viewer. Ops have cat "op" and args with their shapes, FLOPs, bytes, GFLOP/s and
/// GB/s; ranges have cat "range" and the same figures over the ops inside them. The machine's peaks and the timer go in otherData, where `dricl profile`
/// reads them back.
/// </summary>
public sealed class TraceWriter : IDisposable
{
    public const int ProcessId = 1, ThreadId = 1;

    readonly FileStream file;
    readonly Utf8JsonWriter json;

    public TraceWriter(string path, string processName, string threadName)
    {
        file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        json = new Utf8JsonWriter(file);
        json.WriteStartObject();
        json.WriteStartArray("traceEvents");
        Metadata("process_name", processName);
        Metadata("thread_name", threadName);
    }

    internal void Slice(ProfileRecorder.Slice slice, double beginUs, double endUs)
    {
        double dur = Math.Max(0, endUs - beginUs);
        json.WriteStartObject();
        json.WriteString("name", slice.DisplayName);
        json.WriteString("cat", slice.Op is null ? "range" : "op");
        json.WriteString("ph", "X");
        json.WriteNumber("ts", Math.Round(beginUs, 3));
        json.WriteNumber("dur", Math.Round(dur, 3));
        json.WriteNumber("pid", ProcessId);
        json.WriteNumber("tid", ThreadId);
        var cost = slice.Op?.Cost ?? slice.Total;
        if (slice.Op is not null || cost.Bytes > 0)
        {
            json.WriteStartObject("args");
            if (slice.Op is { } op) json.WriteString("shapes", Shapes(op));
            json.WriteNumber("flops", cost.Flops);
            json.WriteNumber("bytes", cost.Bytes);
            if (dur > 0)
            {
                json.WriteNumber("gflop_per_s", Math.Round(cost.Flops / dur / 1e3, 3));
                json.WriteNumber("gb_per_s", Math.Round(cost.Bytes / dur / 1e3, 3));
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    internal void Flush() => json.Flush();

    /// <summary>Closes the event list and writes otherData (device, timer, peaks), then the file.</summary>
    public void Finish(IReadOnlyDictionary<string, object> otherData)
    {
        json.WriteEndArray();
        json.WriteString("displayTimeUnit", "ms");
        json.WritePropertyName("otherData");
        JsonSerializer.Serialize(json, otherData);
        json.WriteEndObject();
        json.Flush();
    }

    public void Dispose()
    {
        json.Dispose();
        file.Dispose();
    }

    void Metadata(string name, string value)
    {
        json.WriteStartObject();
        json.WriteString("name", name);
        json.WriteString("ph", "M");
        json.WriteNumber("pid", ProcessId);
        json.WriteNumber("tid", ThreadId);
        json.WriteStartObject("args");
        json.WriteString("name", value);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    // "a [512,128]  bᵀ [384,128]  c [512,384]; accumulate"
    static string Shapes(ProfileRecorder.OpCall op)
    {
        var text = new StringBuilder();
        for (int i = 0; i < op.Shapes.Length; i++)
        {
            if (i > 0) text.Append("  ");
            text.Append(op.Names[i]).Append(' ').Append(Tensor.Format(op.Shapes[i]));
        }
        if (op.Detail is not null) text.Append("; ").Append(op.Detail);
        return text.ToString();
    }
}
