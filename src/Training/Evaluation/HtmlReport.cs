using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace DrICL.Training.Evaluation;

/// <summary>
/// Writes a <see cref="KShotReport"/> as one self-contained HTML page (inline CSS and SVG, no scripts, no
/// external resources): title and summary, the training loss per objective, score against k averaged over
/// tasks and per task (categorical k axis, error bars of ± the sample standard deviation over seeds), a
/// results table, a stability table and the run's meta. Charts are &lt;svg class="chart" data-chart="loss|average|task"&gt;
/// (task charts add data-task) with one &lt;path data-series="objective"&gt; per line. If meta has an object
/// "metrics" mapping task → metric name, task charts label their y axis with it.
/// </summary>
public static class HtmlReport
{
    public static void Write(string path, KShotReport report, string title, string summary) =>
        File.WriteAllText(path, Render(report, title, summary), new UTF8Encoding(false));

    /// <param name="summary">Plain text; blank lines separate paragraphs.</param>
    public static string Render(KShotReport report, string title, string summary)
    {
        var palette = new SeriesColors();
        var colors = report.Objectives.Keys.ToDictionary(o => o, o => palette[o]);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append($"<title>{Escape(title)}</title>\n<style>\n{Style}</style>\n</head>\n<body>\n<main>\n");
        html.Append($"<h1>{Escape(title)}</h1>\n");
        foreach (var paragraph in summary.Split(["\r\n\r\n", "\n\n"], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            html.Append($"<p class=\"summary\">{Escape(paragraph)}</p>\n");

        html.Append("<h2>Training loss</h2>\n");
        html.Append(LossChart(report, colors) ?? "<p class=\"note\">No training loss was recorded.</p>\n");

        html.Append("<h2>Score against the number of demonstrations k</h2>\n");
        html.Append("<p class=\"note\">Mean over seeds; error bars are ± the sample standard deviation over seeds. k is spaced evenly, not to scale.</p>\n");
        html.Append("<div class=\"charts\">\n");
        html.Append(ScoreChart(report, colors, null, "score averaged over tasks"));
        foreach (var task in TaskNames(report)) html.Append(ScoreChart(report, colors, task, MetricName(report.Meta, task)));
        html.Append("</div>\n");

        html.Append("<h2>Results</h2>\n");
        html.Append(ResultsTable(report, colors));
        html.Append("<h2>Stability across k</h2>\n");
        html.Append(StabilityTable(report, colors));
        if (report.Meta.Count > 0)
        {
            html.Append("<h2>Run</h2>\n<dl class=\"meta\">\n");
            foreach (var (key, value) in report.Meta)
                html.Append($"<dt>{Escape(key)}</dt><dd>{Escape(value is JsonValue v && v.TryGetValue(out string? s) ? s : value?.ToJsonString() ?? "null")}</dd>\n");
            html.Append("</dl>\n");
        }
        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    static string? LossChart(KShotReport report, Dictionary<string, string> colors)
    {
        var series = report.Objectives.Where(o => o.Value.TrainLoss.Length > 0)
            .Select(o => new ChartSeries(o.Key, colors[o.Key], [.. o.Value.TrainLoss.Select(p => new ChartPoint(p.Step, p.Loss))], Markers: false))
            .ToList();
        if (series.Count == 0) return null;
        var points = series.SelectMany(s => s.Points).ToList();
        var x = ChartAxis.Linear("optimizer step", points.Min(p => p.X), points.Max(p => p.X), integers: true);
        var y = ChartAxis.Linear("training loss", points.Min(p => p.Y), points.Max(p => p.Y));
        return SvgChart.Render("data-chart=\"loss\"", "Training loss", x, y, series);
    }

    /// <summary>The task-averaged chart when task is null, else that task's chart; objectives without the task are left out.</summary>
    static string ScoreChart(KShotReport report, Dictionary<string, string> colors, string? task, string yLabel)
    {
        int[] ks = [.. report.Objectives.Values.SelectMany(c => c.K).Distinct().Order()];
        var curves = report.Objectives.Select(o => (Name: o.Key, o.Value, Stats: task is null ? o.Value.Average : o.Value.Tasks.GetValueOrDefault(task)))
            .Where(c => c.Stats is not null).ToList();
        var series = new List<ChartSeries>();
        for (int i = 0; i < curves.Count; i++)
        {
            var (name, curve, stats) = curves[i];
            // Nudge each objective sideways a little so error bars at the same k do not hide each other.
            double dodge = (i - (curves.Count - 1) / 2.0) * 0.08;
            series.Add(new ChartSeries(name, colors[name],
                [.. stats!.K.Select((k, j) => new ChartPoint(Array.IndexOf(ks, k) + dodge, stats.Mean[j], stats.Spread[j]))], Markers: true));
        }
        var points = series.SelectMany(s => s.Points).ToList();
        var x = ChartAxis.Categorical("k (demonstrations)", [.. ks.Select(k => k.ToString(CultureInfo.InvariantCulture))]);
        var y = ChartAxis.Linear(yLabel, points.Min(p => p.Low), points.Max(p => p.High));
        int taskCount = TaskNames(report).Count;
        return task is null
            ? SvgChart.Render("data-chart=\"average\"", $"Average over {taskCount} task{(taskCount == 1 ? "" : "s")}", x, y, series)
            : SvgChart.Render($"data-chart=\"task\" data-task=\"{Escape(task)}\"", task, x, y, series);
    }

    /// <summary>Rows are objective × k; the best mean in a column among objectives at the same k is bold.</summary>
    static string ResultsTable(KShotReport report, Dictionary<string, string> colors)
    {
        var tasks = TaskNames(report);
        string format = ValueFormat(report);
        MeanSpread? Column(KShotCurve curve, int c) => c < tasks.Count ? curve.Tasks.GetValueOrDefault(tasks[c]) : curve.Average;
        double BestAt(int k, int c) => report.Objectives.Values
            .Select(curve => Column(curve, c)).Where(stats => stats is not null && stats.K.Contains(k))
            .Max(stats => stats!.Mean[Array.IndexOf(stats.K, k)]);

        var table = new StringBuilder("<div class=\"table\"><table class=\"results\">\n<thead><tr><th>objective</th><th>k</th>");
        foreach (var task in tasks) table.Append($"<th>{Escape(task)}</th>");
        table.Append("<th>average</th></tr></thead>\n<tbody>\n");
        foreach (var (name, curve) in report.Objectives)
            for (int i = 0; i < curve.K.Length; i++)
            {
                int k = curve.K[i];
                table.Append(i == 0 ? "<tr class=\"first\">" : "<tr>");
                table.Append($"<td>{Swatch(colors[name])}{Escape(name)}</td><td>{k}</td>");
                for (int c = 0; c <= tasks.Count; c++)
                {
                    var stats = Column(curve, c);
                    int j = stats is null ? -1 : Array.IndexOf(stats.K, k);
                    if (j < 0) { table.Append("<td>–</td>"); continue; }
                    string cell = $"{stats!.Mean[j].ToString(format, CultureInfo.InvariantCulture)} ± {stats.Spread[j].ToString(format, CultureInfo.InvariantCulture)}";
                    if (stats.TaskCount is { } count && count[j] < tasks.Count) cell += $" ({count[j]} tasks)";
                    table.Append(report.Objectives.Count > 1 && stats.Mean[j] >= BestAt(k, c) ? $"<td><b>{cell}</b></td>" : $"<td>{cell}</td>");
                }
                table.Append("</tr>\n");
            }
        var seeds = report.Objectives.Values.SelectMany(c => c.Tasks.Values.SelectMany(t => t.Seeds)).ToList();
        string seedRange = seeds.Min() == seeds.Max() ? $"{seeds.Min()}" : $"{seeds.Min()}–{seeds.Max()}";
        table.Append($"</tbody>\n</table></div>\n<p class=\"note\">mean ± sample standard deviation over {seedRange} seed(s); the average column averages tasks per seed first. Bold: best objective at that k.</p>\n");
        return table.ToString();
    }

    static string StabilityTable(KShotReport report, Dictionary<string, string> colors)
    {
        string format = ValueFormat(report);
        string N(double v) => v.ToString(format, CultureInfo.InvariantCulture);
        var table = new StringBuilder("<div class=\"table\"><table class=\"stability\">\n<thead><tr><th>objective</th><th>SD of average across k</th><th>best k (average)</th><th>largest k (average)</th><th>drop from best to largest k</th></tr></thead>\n<tbody>\n");
        foreach (var (name, curve) in report.Objectives)
        {
            var s = curve.Stability;
            table.Append($"<tr><td>{Swatch(colors[name])}{Escape(name)}</td><td>{N(s.StdAcrossK)}</td><td>{s.BestK} ({N(s.BestMean)})</td><td>{s.LargestK} ({N(s.MeanAtLargestK)})</td><td>{N(s.DropFromBest)}</td></tr>\n");
        }
        table.Append("</tbody>\n</table></div>\n<p class=\"note\">Computed on the task-averaged mean score; a smaller SD and drop mean a steadier curve as demonstrations are added.</p>\n");
        return table.ToString();
    }

    static List<string> TaskNames(KShotReport report) =>
        [.. report.Objectives.Values.SelectMany(c => c.Tasks.Keys).Distinct().Order(StringComparer.Ordinal)];

    static string MetricName(JsonObject meta, string task) =>
        meta["metrics"] is JsonObject metrics && metrics[task] is JsonValue v && v.TryGetValue(out string? name) ? name : "score";

    /// <summary>Three decimals for fractions, one for scores on a 0-100 scale.</summary>
    static string ValueFormat(KShotReport report) =>
        report.Objectives.Values.SelectMany(c => c.Tasks.Values.SelectMany(t => t.Mean)).Any(m => Math.Abs(m) >= 10) ? "F1" : "F3";

    internal static string Swatch(string color) => $"<span class=\"swatch\" style=\"background:{color}\"></span>";

    static string Escape(string text) => WebUtility.HtmlEncode(text);

    internal const string Style = """
        body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #222; background: #fafafa; }
        main { max-width: 1100px; margin: 0 auto; padding: 24px; }
        h1 { font-size: 26px; margin: 0 0 12px; }
        h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        p.summary { max-width: 860px; line-height: 1.5; }
        p.note { color: #666; font-size: 13px; }
        .charts { display: flex; flex-wrap: wrap; gap: 16px; }
        svg.chart { background: #fff; border: 1px solid #ddd; border-radius: 4px; max-width: 100%; height: auto; }
        .chart text { font-size: 12px; fill: #333; }
        .chart .chart-title { font-size: 14px; font-weight: 600; }
        .chart .axis-label { fill: #555; }
        .chart .grid line { stroke: #ececec; }
        .chart .axis line { stroke: #555; }
        div.table { overflow-x: auto; }
        table { border-collapse: collapse; background: #fff; font-size: 13px; font-variant-numeric: tabular-nums; }
        th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; white-space: nowrap; }
        th { background: #f0f0f0; }
        th:first-child, td:first-child { text-align: left; }
        tr.first td { border-top: 2px solid #999; }
        .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
        dl.meta { display: grid; grid-template-columns: max-content auto; gap: 4px 16px; font-size: 13px; }
        dl.meta dt { font-weight: 600; }
        dl.meta dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }

        """;
}
