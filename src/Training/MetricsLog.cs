using System.Text.Json;

namespace DrICL.Training;

/// <summary>
/// metrics.jsonl: one JSON line per optimizer step, flushed as it is written, so a crash loses at most the
/// line being written. A resumed run first cuts the file back to the checkpoint's step (dropping the
/// steps the checkpoint does not hold and a torn last line), so the file holds each step exactly once.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter writer;

    MetricsLog(StreamWriter writer) => this.writer = writer;

    /// <summary>Opens the log to continue after <paramref name="step"/> (0: a fresh log).</summary>
    public static MetricsLog Open(string path, int step)
    {
        if (step > 0 && File.Exists(path)) CutAfter(path, step);
        return new MetricsLog(new StreamWriter(path, append: step > 0) { AutoFlush = true });
    }

    public void Write(StepRecord r) =>
        writer.WriteLine(JsonSerializer.Serialize(new { step = r.Step, loss = r.Loss, grad_norm = r.GradNorm, lr = r.Lr, tokens_per_s = r.TokensPerSecond, elapsed_s = r.ElapsedSeconds }));

    /// <summary>Keeps the complete lines of steps 1..step, each once, rewriting the file through a rename.</summary>
    public static void CutAfter(string path, int step)
    {
        var kept = new List<string>();
        var seen = new HashSet<int>();
        foreach (var line in File.ReadLines(path))
            if (StepOf(line) is { } s && s <= step && seen.Add(s)) kept.Add(line);
        string temp = path + ".tmp";
        File.WriteAllLines(temp, kept);
        File.Move(temp, path, overwrite: true);
    }

    static int? StepOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt32(out int step) ? step : null;
        }
        catch (JsonException)
        {
            return null; // a line torn by a crash
        }
    }

    public void Dispose() => writer.Dispose();
}
