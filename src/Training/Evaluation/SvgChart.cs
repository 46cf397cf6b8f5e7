using System.Globalization;
using System.Net;
using System.Text;

namespace DrICL.Training.Evaluation;

/// <summary>A point in data coordinates; when Low &lt; High an error bar is drawn from Low to High.</summary>
readonly record struct ChartPoint(double X, double Y, double Low, double High)
{
    /// <summary>A point with a symmetric error bar of ± spread (none when spread is 0).</summary>
    public ChartPoint(double x, double y, double spread = 0) : this(x, y, y - spread, y + spread)
    {
    }
}

/// <summary>
/// One line of a chart. Markers are drawn for score curves, and for any line of a single point; dashed lines are
/// for reference learners drawn beside the models.
/// </summary>
sealed record ChartSeries(string Name, string Color, IReadOnlyList<ChartPoint> Points, bool Markers, bool Dashed = false);

/// <summary>An axis: the data range it spans and its labelled ticks.</summary>
sealed record ChartAxis(string Label, double Min, double Max, IReadOnlyList<(double Value, string Text)> Ticks)
{
    /// <summary>
    /// A linear axis widened to round tick values, about five ticks (steps of 1, 2 or 5 times a power of ten);
    /// with integers, steps are at least 1 (for counts such as optimizer steps).
    /// </summary>
    public static ChartAxis Linear(string label, double min, double max, bool integers = false)
    {
        if (max - min < 1e-12)
        {
            double pad = min == 0 ? 1 : Math.Abs(min) * 0.1;
            (min, max) = (min - pad, max + pad);
        }
        double raw = (max - min) / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw))), scaled = raw / magnitude;
        double step = (scaled < 1.5 ? 1 : scaled < 3 ? 2 : scaled < 7 ? 5 : 10) * magnitude;
        if (integers) step = Math.Max(step, 1);
        int decimals = Math.Max(0, (int)-Math.Floor(Math.Log10(step) + 1e-9));
        long first = (long)Math.Floor(min / step + 1e-9), last = (long)Math.Ceiling(max / step - 1e-9);
        var ticks = new List<(double, string)>();
        for (long i = first; i <= last; i++) ticks.Add((i * step, (i * step).ToString("F" + decimals, CultureInfo.InvariantCulture)));
        return new ChartAxis(label, first * step, last * step, ticks);
    }

    /// <summary>Categories evenly spaced at 0, 1, 2, ... whatever their labels, half a slot of room at each end.</summary>
    public static ChartAxis Categorical(string label, IReadOnlyList<string> categories) =>
        new(label, -0.5, categories.Count - 0.5, [.. categories.Select((c, i) => ((double)i, c))]);
}

/// <summary>
/// Draws a line chart as inline SVG: title, legend rows under it, grid, axes with ticks and labels, then one
/// &lt;path data-series="name"&gt; per series (plus markers and &lt;path data-spread="name"&gt; error bars).
/// All text is HTML-escaped.
/// </summary>
static class SvgChart
{
    const double Width = 520, Height = 340, Left = 64, Right = 18, Bottom = 50, TitleHeight = 28, LegendRow = 20;
    const double CharWidth = 7; // rough width of a 12px sans-serif character, for laying out legend entries

    /// <param name="attributes">Already-escaped attributes for the &lt;svg&gt; element, such as data-chart="loss".</param>
    public static string Render(string attributes, string title, ChartAxis x, ChartAxis y, IReadOnlyList<ChartSeries> series)
    {
        var legend = LayoutLegend(series);
        double top = TitleHeight + legend.Rows * LegendRow + 8, plotWidth = Width - Left - Right, plotHeight = Height - top - Bottom;
        double Px(double v) => Left + (v - x.Min) / (x.Max - x.Min) * plotWidth;
        double Py(double v) => top + (y.Max - v) / (y.Max - y.Min) * plotHeight;

        var svg = new StringBuilder();
        svg.Append($"<svg class=\"chart\" {attributes} viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\">\n");
        svg.Append($"<title>{Escape(title)}</title>\n");
        svg.Append($"<text class=\"chart-title\" x=\"{Width / 2}\" y=\"19\" text-anchor=\"middle\">{Escape(title)}</text>\n");
        foreach (var (entry, ex, ey) in legend.Entries)
        {
            svg.Append($"<g class=\"legend\" data-legend=\"{Escape(entry.Name)}\"><line x1=\"{F(ex)}\" y1=\"{F(ey)}\" x2=\"{F(ex + 18)}\" y2=\"{F(ey)}\" stroke=\"{entry.Color}\" stroke-width=\"3\"{(entry.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>");
            svg.Append($"<text x=\"{F(ex + 23)}\" y=\"{F(ey + 4)}\">{Escape(entry.Name)}</text></g>\n");
        }

        svg.Append("<g class=\"grid\">");
        foreach (var (v, _) in y.Ticks) svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(Py(v))}\" x2=\"{F(Left + plotWidth)}\" y2=\"{F(Py(v))}\"/>");
        svg.Append("</g>\n<g class=\"axis\">");
        svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(top + plotHeight)}\" x2=\"{F(Left + plotWidth)}\" y2=\"{F(top + plotHeight)}\"/>");
        svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(top)}\" x2=\"{F(Left)}\" y2=\"{F(top + plotHeight)}\"/>");
        foreach (var (v, text) in x.Ticks)
        {
            svg.Append($"<line x1=\"{F(Px(v))}\" y1=\"{F(top + plotHeight)}\" x2=\"{F(Px(v))}\" y2=\"{F(top + plotHeight + 5)}\"/>");
            svg.Append($"<text x=\"{F(Px(v))}\" y=\"{F(top + plotHeight + 18)}\" text-anchor=\"middle\">{Escape(text)}</text>");
        }
        foreach (var (v, text) in y.Ticks)
        {
            svg.Append($"<line x1=\"{F(Left - 5)}\" y1=\"{F(Py(v))}\" x2=\"{F(Left)}\" y2=\"{F(Py(v))}\"/>");
            svg.Append($"<text x=\"{F(Left - 8)}\" y=\"{F(Py(v) + 4)}\" text-anchor=\"end\">{Escape(text)}</text>");
        }
        svg.Append($"<text class=\"axis-label\" x=\"{F(Left + plotWidth / 2)}\" y=\"{F(Height - 10)}\" text-anchor=\"middle\">{Escape(x.Label)}</text>");
        svg.Append($"<text class=\"axis-label\" transform=\"translate(16 {F(top + plotHeight / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(y.Label)}</text>");
        svg.Append("</g>\n");

        foreach (var s in series)
        {
            string name = Escape(s.Name);
            var line = new StringBuilder();
            var bars = new StringBuilder();
            foreach (var p in s.Points)
            {
                line.Append(line.Length == 0 ? 'M' : 'L').Append(F(Px(p.X))).Append(' ').Append(F(Py(p.Y))).Append(' ');
                if (p.High > p.Low)
                {
                    double cx = Px(p.X), lo = Py(p.Low), hi = Py(p.High);
                    bars.Append($"M{F(cx)} {F(lo)} L{F(cx)} {F(hi)} M{F(cx - 4)} {F(lo)} L{F(cx + 4)} {F(lo)} M{F(cx - 4)} {F(hi)} L{F(cx + 4)} {F(hi)} ");
                }
            }
            svg.Append("<g class=\"series\">");
            if (bars.Length > 0) svg.Append($"<path data-spread=\"{name}\" d=\"{bars.ToString().TrimEnd()}\" stroke=\"{s.Color}\" stroke-width=\"1.2\" fill=\"none\" opacity=\"0.75\"/>");
            svg.Append($"<path data-series=\"{name}\" d=\"{line.ToString().TrimEnd()}\" stroke=\"{s.Color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")} fill=\"none\" stroke-linejoin=\"round\"/>");
            if (s.Markers || s.Points.Count == 1)
                foreach (var p in s.Points)
                {
                    string spread = p.High <= p.Low ? ""
                        : Math.Abs(p.High - p.Y - (p.Y - p.Low)) < 1e-12 ? " ± " + Number(p.High - p.Y) : $" [{Number(p.Low)}, {Number(p.High)}]";
                    svg.Append($"<circle cx=\"{F(Px(p.X))}\" cy=\"{F(Py(p.Y))}\" r=\"3.5\" fill=\"{s.Color}\"><title>{name}: {Escape(Number(p.Y) + spread)}</title></circle>");
                }
            svg.Append("</g>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>Legend entries left to right under the title, wrapping to a new row when the plot width is used up.</summary>
    static (int Rows, List<(ChartSeries Entry, double X, double Y)> Entries) LayoutLegend(IReadOnlyList<ChartSeries> series)
    {
        var entries = new List<(ChartSeries, double, double)>();
        double x = Left;
        int row = 0;
        foreach (var s in series)
        {
            double width = 23 + s.Name.Length * CharWidth + 16;
            if (x + width > Width - Right && x > Left) { row++; x = Left; }
            entries.Add((s, x, TitleHeight + 8 + row * LegendRow));
            x += width;
        }
        return (series.Count == 0 ? 0 : row + 1, entries);
    }

    static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    static string Number(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    static string Escape(string text) => WebUtility.HtmlEncode(text);
}
