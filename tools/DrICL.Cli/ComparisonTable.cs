using System.Globalization;
using System.Text;

namespace DrICL.Cli;

/// <summary>A measured quantity: its column name, how to print it, and which way is better.</summary>
public sealed record BenchMetric(string Name, string Format, bool HigherIsBetter);

/// <summary>One row: a label and, per metric, our value and PyTorch's (null when PyTorch did not run it).</summary>
public sealed record ComparisonRow(string Label, IReadOnlyList<(double Ours, double? PyTorch)> Values);

/// <summary>
/// A fixed-width text table of ours against PyTorch: per metric three columns, ours, pytorch and ×, the
/// factor by which ours is better (ours/pytorch for rates, pytorch/ours for times and bytes), so above 1
/// always means ours wins. Without PyTorch the table has ours alone.
/// </summary>
public static class ComparisonTable
{
    public static string Format(string title, IReadOnlyList<BenchMetric> metrics, IReadOnlyList<ComparisonRow> rows, bool withPyTorch)
    {
        var header = new List<string> { "" };
        foreach (var m in metrics)
        {
            header.Add($"ours {m.Name}");
            if (withPyTorch) header.AddRange([$"pytorch {m.Name}", "×"]);
        }
        var cells = new List<List<string>> { header };
        foreach (var row in rows)
        {
            var line = new List<string> { row.Label };
            for (int i = 0; i < metrics.Count; i++)
            {
                var (ours, pytorch) = row.Values[i];
                line.Add(Number(ours, metrics[i].Format));
                if (!withPyTorch) continue;
                line.Add(pytorch is { } p ? Number(p, metrics[i].Format) : "-");
                line.Add(pytorch is { } q ? Number(Factor(ours, q, metrics[i].HigherIsBetter), "F2") : "-");
            }
            cells.Add(line);
        }
        var widths = Enumerable.Range(0, header.Count).Select(c => cells.Max(l => l[c].Length)).ToArray();
        var text = new StringBuilder().Append(title).Append('\n');
        foreach (var line in cells)
            text.Append(string.Join("  ", line.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd()).Append('\n');
        return text.ToString();
    }

    /// <summary>How many times better ours is: above 1 means ours wins, whichever way the metric points.</summary>
    public static double Factor(double ours, double pytorch, bool higherIsBetter) => higherIsBetter ? ours / pytorch : pytorch / ours;

    static string Number(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "-";
}
