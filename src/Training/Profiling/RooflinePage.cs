using System.Globalization;
using System.Net;
using System.Text;
using DrICL.Training.Evaluation;

namespace DrICL.Training.Profiling;

/// <summary>
/// Writes a ProfileSummary as one self-contained HTML page (inline CSS and SVG, no scripts), in the style of
/// the k-shot report: the roofline, the time per part of the model, and the op table.
/// <para>
/// The roofline (&lt;svg class="chart" data-chart="roofline"&gt;) is log-log: achieved GFLOP/s against
/// arithmetic intensity (FLOPs per byte). The roof (&lt;path data-series="roof"&gt;) is min(peak compute,
/// intensity × peak bandwidth); each op kind and shape is a dot (&lt;path data-series="MatMul"&gt;, area
/// proportional to its time, hover for details). A dot's distance below the roof is what is left to win.
/// The layer chart (data-chart="layers") stacks each layer's attention and MLP time, forward and backward,
/// next to the parts outside the layers (embedding, final norm, lm_head, loss, optimizer).
/// </para>
/// </summary>
public static class RooflinePage
{
    const double Width = 760, Height = 480, Left = 70, Right = 200, Top = 40, Bottom = 50;
    static readonly string[] Palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000", "#999999", "#7F3C8D", "#11A579", "#3969AC"];

    public static void Write(string path, ProfileSummary summary, string title) =>
        File.WriteAllText(path, Render(summary, title), new UTF8Encoding(false));

    public static string Render(ProfileSummary summary, string title)
    {
        var trace = summary.Trace;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append($"<title>{Escape(title)}</title>\n<style>\n{HtmlReport.Style}</style>\n</head>\n<body>\n<main>\n");
        html.Append($"<h1>{Escape(title)}</h1>\n");
        html.Append($"<p class=\"summary\">{Escape($"{trace.Command} on {trace.Device}, timed by the {trace.Timer}. ")}");
        html.Append(Escape(summary.Steps > 0
            ? Invariant($"{summary.Steps} steps, {summary.StepMs / summary.Steps:F1} ms a step; the ops cover {Percent(summary.OpMs, summary.StepMs)} of the step time.")
            : Invariant($"{summary.StepMs:F1} ms; the ops cover {Percent(summary.OpMs, summary.StepMs)} of it.")));
        if (trace.Peaks is { } peaks)
            html.Append(Escape(Invariant($" Peaks measured on this machine: {peaks.GflopPerS:F1} GFLOP/s ({peaks.Compute}) and {peaks.GbPerS:F1} GB/s ({peaks.Memory}).")));
        html.Append("</p>\n");

        var colors = summary.Ops.Select((o, i) => (o.Op, Palette[i % Palette.Length])).ToDictionary(p => p.Op, p => p.Item2);
        html.Append("<h2>Roofline</h2>\n");
        if (trace.Peaks is null || summary.Points.Count == 0)
            html.Append("<p class=\"note\">No roofline: the trace has no measured peaks or no op with FLOPs.</p>\n");
        else
        {
            html.Append("<p class=\"note\">Each dot is one op kind at one set of shapes, its area proportional to its time; hover for details. Ops without FLOPs (copies, fills, allocations) are in the table only.</p>\n");
            html.Append(Roofline(summary, trace.Peaks, colors));
            html.Append(PointTable(summary, trace.Peaks, colors));
        }
        html.Append("<h2>Time per part of the model</h2>\n");
        html.Append(summary.Parts.Count == 0 ? "<p class=\"note\">The trace has no model ranges (layer N › attention / mlp).</p>\n" : Layers(summary));
        html.Append("<h2>Ops</h2>\n");
        html.Append(OpTable(summary, colors));
        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    static string Roofline(ProfileSummary summary, Kernels.Profiling.MachinePeaks peaks, Dictionary<string, string> colors)
    {
        var points = summary.Points;
        double ridge = peaks.RidgeIntensity;
        double xMin = Math.Pow(10, Math.Floor(Math.Log10(Math.Min(points.Min(p => p.Intensity), ridge / 10))));
        double xMax = Math.Pow(10, Math.Ceiling(Math.Log10(Math.Max(points.Max(p => p.Intensity), ridge * 10))));
        double yMin = Math.Pow(10, Math.Floor(Math.Log10(Math.Min(points.Min(p => p.GflopPerS), xMin * peaks.GbPerS))));
        double yMax = Math.Pow(10, Math.Ceiling(Math.Log10(peaks.GflopPerS * 1.5)));
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Px(double v) => Left + (Math.Log10(v) - Math.Log10(xMin)) / (Math.Log10(xMax) - Math.Log10(xMin)) * plotW;
        double Py(double v) => Top + (Math.Log10(yMax) - Math.Log10(v)) / (Math.Log10(yMax) - Math.Log10(yMin)) * plotH;

        var svg = new StringBuilder();
        svg.Append($"<svg class=\"chart\" data-chart=\"roofline\" viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\">\n");
        svg.Append("<title>Roofline</title>\n");
        svg.Append($"<text class=\"chart-title\" x=\"{F(Left + plotW / 2)}\" y=\"22\" text-anchor=\"middle\">Roofline: achieved GFLOP/s against FLOPs per byte</text>\n");
        svg.Append($"<defs><clipPath id=\"plot\"><rect x=\"{F(Left)}\" y=\"{F(Top)}\" width=\"{F(plotW)}\" height=\"{F(plotH)}\"/></clipPath></defs>\n");
        svg.Append("<g class=\"grid\">");
        for (double v = xMin; v <= xMax * 1.001; v *= 10) svg.Append($"<line x1=\"{F(Px(v))}\" y1=\"{F(Top)}\" x2=\"{F(Px(v))}\" y2=\"{F(Top + plotH)}\"/>");
        for (double v = yMin; v <= yMax * 1.001; v *= 10) svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(Py(v))}\" x2=\"{F(Left + plotW)}\" y2=\"{F(Py(v))}\"/>");
        svg.Append("</g>\n<g class=\"axis\">");
        svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(Top + plotH)}\" x2=\"{F(Left + plotW)}\" y2=\"{F(Top + plotH)}\"/><line x1=\"{F(Left)}\" y1=\"{F(Top)}\" x2=\"{F(Left)}\" y2=\"{F(Top + plotH)}\"/>");
        for (double v = xMin; v <= xMax * 1.001; v *= 10)
            svg.Append($"<text x=\"{F(Px(v))}\" y=\"{F(Top + plotH + 18)}\" text-anchor=\"middle\">{Tick(v)}</text>");
        for (double v = yMin; v <= yMax * 1.001; v *= 10)
            svg.Append($"<text x=\"{F(Left - 8)}\" y=\"{F(Py(v) + 4)}\" text-anchor=\"end\">{Tick(v)}</text>");
        svg.Append($"<text class=\"axis-label\" x=\"{F(Left + plotW / 2)}\" y=\"{F(Height - 10)}\" text-anchor=\"middle\">arithmetic intensity (FLOP/byte)</text>");
        svg.Append($"<text class=\"axis-label\" transform=\"translate(16 {F(Top + plotH / 2)}) rotate(-90)\" text-anchor=\"middle\">GFLOP/s</text>");
        svg.Append("</g>\n");

        svg.Append("<g class=\"series\" clip-path=\"url(#plot)\">");
        svg.Append($"<path data-series=\"roof\" d=\"M{F(Px(xMin))} {F(Py(xMin * peaks.GbPerS))} L{F(Px(ridge))} {F(Py(peaks.GflopPerS))} L{F(Px(xMax))} {F(Py(peaks.GflopPerS))}\" stroke=\"#333\" stroke-width=\"2\" fill=\"none\">");
        svg.Append($"<title>{Escape(Invariant($"roof: {peaks.GbPerS:F1} GB/s × intensity up to the ridge at {ridge:F1} FLOP/B, then {peaks.GflopPerS:F1} GFLOP/s"))}</title></path>\n");
        double maxMs = points.Max(p => p.TotalMs);
        foreach (var p in points.OrderByDescending(p => p.TotalMs))
        {
            double r = 3 + 11 * Math.Sqrt(p.TotalMs / maxMs), cx = Px(p.Intensity), cy = Py(p.GflopPerS);
            double bound = Math.Min(peaks.GflopPerS, p.Intensity * peaks.GbPerS);
            string tip = Invariant($"{p.Op} {p.Shapes}: {p.Calls} calls, {p.TotalMs:F2} ms, {p.GflopPerS:F2} GFLOP/s at {p.Intensity:F2} FLOP/B ({100 * p.GflopPerS / bound:F1}% of the roof)");
            svg.Append($"<path data-series=\"{Escape(p.Op)}\" d=\"M{F(cx - r)} {F(cy)} a{F(r)} {F(r)} 0 1 0 {F(2 * r)} 0 a{F(r)} {F(r)} 0 1 0 {F(-2 * r)} 0 Z\" fill=\"{colors[p.Op]}\" fill-opacity=\"0.7\" stroke=\"{colors[p.Op]}\"><title>{Escape(tip)}</title></path>\n");
        }
        svg.Append("</g>\n");
        double ly = Top + 6;
        foreach (var op in points.Select(p => p.Op).Distinct())
        {
            svg.Append($"<g class=\"legend\" data-legend=\"{Escape(op)}\"><circle cx=\"{F(Width - Right + 20)}\" cy=\"{F(ly)}\" r=\"5\" fill=\"{colors[op]}\"/><text x=\"{F(Width - Right + 32)}\" y=\"{F(ly + 4)}\">{Escape(op)}</text></g>\n");
            ly += 18;
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    // One row per layer (and per part outside the layers), its time stacked by part and phase.
    static string Layers(ProfileSummary summary)
    {
        var rows = summary.Parts.GroupBy(p => p.Layer is { } l ? $"layer {l}" : p.Part).Select(g => (Label: g.Key, Parts: g.ToList())).ToList();
        var series = summary.Parts.Select(SeriesName).Distinct().ToList();
        var colors = series.Select((s, i) => (s, Palette[i % Palette.Length])).ToDictionary(p => p.s, p => p.Item2);
        double maxMs = rows.Max(r => r.Parts.Sum(p => p.TotalMs));
        const double rowH = 18, labelW = 90, chartW = 760, right = 200;
        double top = 40, height = top + rows.Count * (rowH + 6) + 40, plotW = chartW - labelW - right - 60;   // room for the row totals

        var svg = new StringBuilder();
        svg.Append($"<svg class=\"chart\" data-chart=\"layers\" viewBox=\"0 0 {chartW} {F(height)}\" width=\"{chartW}\" height=\"{F(height)}\" role=\"img\">\n");
        svg.Append("<title>Time per part of the model</title>\n");
        svg.Append($"<text class=\"chart-title\" x=\"{F(labelW + plotW / 2)}\" y=\"22\" text-anchor=\"middle\">Time per layer and part (ms, summed over the steps)</text>\n");
        var paths = series.ToDictionary(s => s, _ => new StringBuilder());
        for (int i = 0; i < rows.Count; i++)
        {
            double y = top + i * (rowH + 6), x = labelW;
            svg.Append($"<text x=\"{F(labelW - 8)}\" y=\"{F(y + rowH - 5)}\" text-anchor=\"end\">{Escape(rows[i].Label)}</text>");
            foreach (var part in rows[i].Parts)
            {
                double w = part.TotalMs / maxMs * plotW;
                svg.Append($"<path data-series=\"{Escape(SeriesName(part))}\" d=\"M{F(x)} {F(y)} h{F(Math.Max(w, 0.5))} v{F(rowH)} h{F(-Math.Max(w, 0.5))} Z\" fill=\"{colors[SeriesName(part)]}\">");
                svg.Append($"<title>{Escape(Invariant($"{rows[i].Label} {SeriesName(part)}: {part.TotalMs:F2} ms"))}</title></path>");
                x += w;
            }
            svg.Append($"<text x=\"{F(x + 6)}\" y=\"{F(y + rowH - 5)}\">{Invariant($"{rows[i].Parts.Sum(p => p.TotalMs):F1}")}</text>\n");
        }
        double ly = top + 6;
        foreach (var s in series)
        {
            svg.Append($"<g class=\"legend\" data-legend=\"{Escape(s)}\"><rect x=\"{F(chartW - right + 30)}\" y=\"{F(ly - 6)}\" width=\"12\" height=\"12\" fill=\"{colors[s]}\"/><text x=\"{F(chartW - right + 48)}\" y=\"{F(ly + 4)}\">{Escape(s)}</text></g>\n");
            ly += 18;
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    static string SeriesName(ModelPart p) => p.Phase.Length == 0 ? p.Part : $"{p.Part} {p.Phase}";

    static string OpTable(ProfileSummary summary, Dictionary<string, string> colors)
    {
        var table = new StringBuilder("<div class=\"table\"><table>\n<tr><th>op</th><th>calls</th><th>total ms</th><th>% step</th><th>mean ms</th><th>GFLOP/s</th><th>GB/s</th><th>FLOP/B</th><th>% roof</th></tr>\n");
        foreach (var r in summary.Ops)
            table.Append(Invariant($"<tr><td><span class=\"swatch\" style=\"background:{colors[r.Op]}\"></span>{Escape(r.Op)}</td><td>{r.Calls}</td><td>{r.TotalMs:F2}</td><td>{r.PercentOfStep:F1}</td><td>{r.MeanMs:F4}</td><td>{r.GflopPerS:F1}</td><td>{r.GbPerS:F1}</td><td>{r.Intensity:F2}</td><td>{(r.PercentOfRoof is { } p ? p.ToString("F1", CultureInfo.InvariantCulture) : "-")}</td></tr>\n"));
        table.Append("</table></div>\n");
        return table.ToString();
    }

    // The dots that take the most time, with the figures their tooltips hold.
    static string PointTable(ProfileSummary summary, Kernels.Profiling.MachinePeaks peaks, Dictionary<string, string> colors)
    {
        var table = new StringBuilder("<p class=\"note\">The dots that take the most time:</p>\n<div class=\"table\"><table>\n<tr><th>op</th><th>shapes</th><th>calls</th><th>total ms</th><th>GFLOP/s</th><th>FLOP/B</th><th>% roof</th></tr>\n");
        foreach (var p in summary.Points.Take(12))
        {
            double roof = 100 * p.GflopPerS / Math.Min(peaks.GflopPerS, p.Intensity * peaks.GbPerS);
            table.Append(Invariant($"<tr><td><span class=\"swatch\" style=\"background:{colors[p.Op]}\"></span>{Escape(p.Op)}</td><td style=\"text-align:left\">{Escape(p.Shapes)}</td><td>{p.Calls}</td><td>{p.TotalMs:F2}</td><td>{p.GflopPerS:F1}</td><td>{p.Intensity:F2}</td><td>{roof:F1}</td></tr>\n"));
        }
        table.Append("</table></div>\n");
        return table.ToString();
    }

    static string Percent(double part, double whole) => whole > 0 ? (100 * part / whole).ToString("F1", CultureInfo.InvariantCulture) + "%" : "-";

    static string Tick(double v) => v >= 1 ? v.ToString("0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);

    static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    static string Escape(string text) => WebUtility.HtmlEncode(text);
}
