using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using DrICL.Kernels.Profiling;

namespace DrICL.Training.Profiling;

/// <summary>One op kind over the profiled steps: how often, how long, how fast, and how close to its roof.</summary>
public sealed record OpKindRow(string Op, int Calls, double TotalMs, double PercentOfStep, double MeanMs, double GflopPerS, double GbPerS,
    double Intensity, double? PercentOfRoof);

/// <summary>Ops of one kind and one set of shapes: a dot on the roofline (GFLOP/s against FLOPs per byte).</summary>
public sealed record RooflinePoint(string Op, string Shapes, int Calls, double TotalMs, double Intensity, double GflopPerS);

/// <summary>Time in one part of the model during one phase: (layer 3, "attention", "forward"), or (null, "loss", "backward") outside the layers.</summary>
public sealed record ModelPart(int? Layer, string Part, string Phase, double TotalMs);

/// <summary>
/// What `dricl profile` prints and draws from a trace. When the trace has step ranges, only what ran inside
/// them counts (the table's "% step" is of their summed time); otherwise everything counts, against the span
/// from the first slice's start to the last one's end. % of roof is, over the calls, the time the op would
/// take at its roofline bound (compute or memory, whichever binds) divided by the time it took.
/// </summary>
public sealed partial class ProfileSummary
{
    public required ProfileTrace Trace { get; init; }
    public int Steps { get; init; }
    /// <summary>Steps left out at the start; the first step's time and the median of the ones after it, to tell warm-up from work.</summary>
    public int Skipped { get; init; }
    public double FirstStepMs { get; init; }
    public double MedianStepMs { get; init; }
    /// <summary>Summed time of the step ranges (or the trace's span), and of the ops in it, in ms.</summary>
    public double StepMs { get; init; }
    public double OpMs { get; init; }
    public required IReadOnlyList<OpKindRow> Ops { get; init; }
    public required IReadOnlyList<RooflinePoint> Points { get; init; }
    public required IReadOnlyList<ModelPart> Parts { get; init; }

    [GeneratedRegex(@"^step \d+$")]
    private static partial Regex StepName();

    [GeneratedRegex(@"^layer (\d+)$")]
    private static partial Regex LayerName();

    public static bool IsStep(TraceSlice s) => !s.IsOp && StepName().IsMatch(s.Name);

    /// <param name="skipSteps">Steps left out at the start (the first one carries the JIT's compilation).</param>
    public static ProfileSummary Of(ProfileTrace trace, int skipSteps = 0)
    {
        var allSteps = trace.Slices.Where(IsStep).ToList();
        if (skipSteps < 0 || (skipSteps > 0 && skipSteps >= allSteps.Count))
            throw new ArgumentOutOfRangeException(nameof(skipSteps), $"cannot skip {skipSteps} of the trace's {allSteps.Count} steps");
        var steps = allSteps.Skip(skipSteps).ToList();
        var kept = steps.ToHashSet();
        bool Counted(TraceSlice s) => steps.Count == 0 || s.Ancestors().Any(kept.Contains);
        var ops = trace.Slices.Where(s => s.IsOp && Counted(s)).ToList();
        double stepMs = steps.Count > 0 ? steps.Sum(s => s.Duration) / 1e3
            : trace.Slices.Count == 0 ? 0 : (trace.Slices.Max(s => s.End) - trace.Slices.Min(s => s.Start)) / 1e3;
        var peaks = trace.Peaks;

        var rows = ops.GroupBy(s => s.Name).Select(g =>
        {
            double us = g.Sum(s => s.Duration), flops = g.Sum(s => (double)s.Cost.Flops), bytes = g.Sum(s => (double)s.Cost.Bytes);
            double? roof = peaks is null || us <= 0 ? null : 100 * g.Sum(s => peaks.BoundSeconds(s.Cost)) * 1e6 / us;
            return new OpKindRow(g.Key, g.Count(), us / 1e3, stepMs > 0 ? 100 * us / 1e3 / stepMs : 0, us / 1e3 / g.Count(),
                us > 0 ? flops / us / 1e3 : 0, us > 0 ? bytes / us / 1e3 : 0, bytes > 0 ? flops / bytes : 0, roof);
        }).OrderByDescending(r => r.TotalMs).ToList();

        var points = ops.Where(s => s.Cost.Flops > 0 && s.Cost.Bytes > 0).GroupBy(s => (s.Name, s.Shapes ?? "")).Select(g =>
        {
            double us = g.Sum(s => s.Duration), flops = g.Sum(s => (double)s.Cost.Flops), bytes = g.Sum(s => (double)s.Cost.Bytes);
            return new RooflinePoint(g.Key.Name, g.Key.Item2, g.Count(), us / 1e3, flops / bytes, us > 0 ? flops / us / 1e3 : 0);
        }).Where(p => p.GflopPerS > 0).OrderByDescending(p => p.TotalMs).ToList();

        return new ProfileSummary
        {
            Trace = trace, Steps = steps.Count, Skipped = skipSteps, FirstStepMs = allSteps.Count > 0 ? allSteps[0].Duration / 1e3 : 0,
            MedianStepMs = allSteps.Count > 1 ? Median(allSteps.Skip(1).Select(s => s.Duration / 1e3)) : 0, StepMs = stepMs, OpMs = ops.Sum(s => s.Duration) / 1e3,
            Ops = rows, Points = points, Parts = ModelParts(trace, Counted),
        };
    }

    // attention and mlp inside "layer N", and the modules and phases outside the layers, each under forward or backward (or none).
    static List<ModelPart> ModelParts(ProfileTrace trace, Func<TraceSlice, bool> counted)
    {
        var parts = new Dictionary<(int?, string, string), double>();
        foreach (var s in trace.Slices)
        {
            if (s.IsOp || !counted(s)) continue;
            string phase = s.Ancestors().FirstOrDefault(a => a.Name is "forward" or "backward")?.Name ?? "";
            int? layer = null;
            if (s.Name is "attention" or "mlp")
            {
                if (s.Parent is null || LayerName().Match(s.Parent.Name) is not { Success: true } m) continue;
                layer = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            }
            else if (s.Name is not ("embedding" or "norm" or "loss" or "lm_head" or "optimizer")) continue;
            var key = (layer, s.Name, phase);
            parts[key] = parts.GetValueOrDefault(key) + s.Duration / 1e3;
        }
        return [.. parts.Select(p => new ModelPart(p.Key.Item1, p.Key.Item2, p.Key.Item3, p.Value))
            .OrderBy(p => p.Layer ?? int.MaxValue).ThenBy(p => p.Part).ThenByDescending(p => p.Phase)];
    }

    /// <summary>The text `dricl profile` prints: the peaks, the step time and coverage, then one row per op kind.</summary>
    public string Table()
    {
        var text = new StringBuilder();
        var peaks = Trace.Peaks;
        text.AppendLine(Invariant($"device {Trace.Device} ({Trace.Timer}), command {Trace.Command}"));
        text.AppendLine(peaks is null
            ? "peaks: not in the trace (% of roof needs a trace written by --profile)"
            : Invariant($"peaks: {peaks.GflopPerS:F1} GFLOP/s ({peaks.Compute}); {peaks.GbPerS:F1} GB/s ({peaks.Memory}); ridge {peaks.RidgeIntensity:F1} FLOP/B"));
        if (Skipped == 0 && MedianStepMs > 0 && FirstStepMs > 2 * MedianStepMs)
            text.AppendLine(Invariant($"step 1 took {FirstStepMs:F1} ms, {FirstStepMs / MedianStepMs:F1}x the median of the others (JIT warm-up): --skip-steps 1 leaves it out"));
        text.AppendLine(Steps > 0
            ? Invariant($"{Steps} steps{(Skipped > 0 ? $" after {Skipped} skipped" : "")}, {StepMs:F1} ms ({StepMs / Steps:F1} ms a step); ops cover {(StepMs > 0 ? 100 * OpMs / StepMs : 0):F1}% of it")
            : Invariant($"no step ranges: {StepMs:F1} ms from the first slice to the last; ops cover {(StepMs > 0 ? 100 * OpMs / StepMs : 0):F1}% of it"));
        text.AppendLine();
        text.AppendLine($"{"op",-22} {"calls",7} {"total ms",10} {"% step",7} {"mean ms",9} {"GFLOP/s",9} {"GB/s",8} {"FLOP/B",7} {"% roof",7}");
        foreach (var r in Ops)
            text.AppendLine(Invariant($"{r.Op,-22} {r.Calls,7} {r.TotalMs,10:F2} {r.PercentOfStep,7:F1} {r.MeanMs,9:F4} {r.GflopPerS,9:F1} {r.GbPerS,8:F1} {r.Intensity,7:F2} {(r.PercentOfRoof is { } p ? p.ToString("F1", CultureInfo.InvariantCulture) : "-"),7}"));
        return text.ToString();
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
