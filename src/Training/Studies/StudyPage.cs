using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DrICL.Training.Evaluation;

namespace DrICL.Training.Studies;

/// <summary>A point of a study chart: the estimate at X and its interval [Low, High] (no bar when they are equal).</summary>
public readonly record struct StudyPoint(double X, double Y, double Low, double High)
{
    public StudyPoint(double x, double y) : this(x, y, y, y)
    {
    }

    public static StudyPoint Of(double x, Interval interval) => new(x, interval.Estimate, interval.Low, interval.High);
}

/// <summary>One line of a study chart; dashed for reference learners (solvers) drawn beside the trained models.</summary>
public sealed record StudySeries(string Name, IReadOnlyList<StudyPoint> Points, bool Dashed = false);

/// <summary>
/// A study's report as one self-contained HTML page (inline CSS and SVG, no scripts, no external resources), built
/// top to bottom: headings, paragraphs, charts with interval bars, tables, and the run's settings. Charts are
/// &lt;svg class="chart" data-chart="ID"&gt; with one &lt;path data-series="name"&gt; per line (what
/// scripts/check-report.sh checks in headless Chromium); a series name keeps its colour in every chart of the page.
/// </summary>
public sealed class StudyPage(string title)
{
    readonly StringBuilder body = new();
    readonly SeriesColors colors = new();
    readonly HashSet<string> chartIds = new(StringComparer.Ordinal);
    bool inCharts;

    public StudyPage Heading(string text) => Block($"<h2>{Escape(text)}</h2>\n");

    /// <summary>Plain text; blank lines separate paragraphs.</summary>
    public StudyPage Paragraph(string text)
    {
        foreach (var paragraph in text.Split(["\r\n\r\n", "\n\n"], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            Block($"<p class=\"summary\">{Escape(paragraph)}</p>\n");
        return this;
    }

    /// <summary>A small grey note, such as what the bars are.</summary>
    public StudyPage Note(string text) => Block($"<p class=\"note\">{Escape(text)}</p>\n");

    /// <summary>
    /// A line chart; consecutive charts sit side by side. With <paramref name="categoricalX"/> the distinct x values
    /// are spaced evenly and labelled with their values (for shot counts such as 0, 1, 5, 20, 100).
    /// </summary>
    public StudyPage Chart(string id, string chartTitle, string xLabel, string yLabel, IReadOnlyList<StudySeries> series, bool categoricalX = false)
    {
        if (!chartIds.Add(id)) throw new ArgumentException($"chart id '{id}' is used twice on this page", nameof(id));
        var drawn = series.Where(s => s.Points.Count > 0).ToList();
        if (drawn.Count == 0) throw new ArgumentException($"chart '{id}' has no points", nameof(series));
        var points = drawn.SelectMany(s => s.Points).ToList();
        double[] xs = [.. points.Select(p => p.X).Distinct().Order()];
        Func<double, double> place = categoricalX ? x => Array.IndexOf(xs, x) : x => x;
        var xAxis = categoricalX
            ? ChartAxis.Categorical(xLabel, [.. xs.Select(x => x.ToString("0.###", CultureInfo.InvariantCulture))])
            : ChartAxis.Linear(xLabel, xs[0], xs[^1]);
        var yAxis = ChartAxis.Linear(yLabel, points.Min(p => p.Low), points.Max(p => p.High));
        var chartSeries = drawn.Select(s => new ChartSeries(s.Name, colors[s.Name],
            [.. s.Points.Select(p => new ChartPoint(place(p.X), p.Y, p.Low, p.High))], Markers: !s.Dashed, s.Dashed)).ToList();
        if (!inCharts) body.Append("<div class=\"charts\">\n");
        inCharts = true;
        body.Append(SvgChart.Render($"data-chart=\"{Escape(id)}\"", chartTitle, xAxis, yAxis, chartSeries));
        return this;
    }

    /// <summary>A table; a first cell that names a series already drawn gets its colour swatch.</summary>
    public StudyPage Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var table = new StringBuilder("<div class=\"table\"><table>\n<tr>");
        foreach (var h in header) table.Append($"<th>{Escape(h)}</th>");
        table.Append("</tr>\n");
        foreach (var row in rows)
        {
            if (row.Count != header.Count) throw new ArgumentException($"a table row has {row.Count} cells under {header.Count} headings", nameof(rows));
            table.Append("<tr>");
            for (int i = 0; i < row.Count; i++)
                table.Append(i == 0 && colors.TryGet(row[i], out var color) ? $"<td>{HtmlReport.Swatch(color)}{Escape(row[i])}</td>" : $"<td>{Escape(row[i])}</td>");
            table.Append("</tr>\n");
        }
        return Block(table.Append("</table></div>\n").ToString());
    }

    /// <summary>The run's settings as a definition list.</summary>
    public StudyPage Meta(JsonObject meta)
    {
        var list = new StringBuilder("<h2>Run</h2>\n<dl class=\"meta\">\n");
        foreach (var (key, value) in meta)
            list.Append($"<dt>{Escape(key)}</dt><dd>{Escape(value is JsonValue v && v.TryGetValue(out string? s) ? s : value?.ToJsonString() ?? "null")}</dd>\n");
        return Block(list.Append("</dl>\n").ToString());
    }

    public string Render()
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append($"<title>{Escape(title)}</title>\n<style>\n{HtmlReport.Style}</style>\n</head>\n<body>\n<main>\n");
        html.Append($"<h1>{Escape(title)}</h1>\n").Append(body);
        if (inCharts) html.Append("</div>\n");
        return html.Append("</main>\n</body>\n</html>\n").ToString();
    }

    public void Write(string path) => File.WriteAllText(path, Render(), new UTF8Encoding(false));

    StudyPage Block(string html)
    {
        if (inCharts) body.Append("</div>\n");
        inCharts = false;
        body.Append(html);
        return this;
    }

    static string Escape(string text) => WebUtility.HtmlEncode(text);
}
