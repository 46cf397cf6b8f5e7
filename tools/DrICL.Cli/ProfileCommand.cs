using System.CommandLine;
using DrICL.Training.Profiling;

namespace DrICL.Cli;

/// <summary>`dricl profile FILE.json`: the per-op-kind table of a trace written by --profile, and with --html a page with its roofline and per-layer times.</summary>
public static class ProfileCommand
{
    public static Command Create()
    {
        var trace = new Argument<FileInfo>("trace") { Description = "a trace written by --profile (Chrome trace-event JSON)" };
        var html = new Option<FileInfo?>("--html") { Description = "also write a self-contained HTML page: the roofline (each op a dot) and the time per layer" };
        var command = new Command("profile", "Summarize a --profile trace: time, GFLOP/s, GB/s and % of the roofline bound per op kind") { trace, html };
        command.SetAction(parse => CliError.Guard(parse, console =>
        {
            var file = parse.GetValue(trace)!;
            if (!file.Exists) throw new CliError($"{file.FullName}: no such trace");
            var summary = ProfileSummary.Of(ProfileTrace.Read(file.FullName));
            if (summary.Ops.Count == 0) throw new CliError($"{file.FullName}: the trace has no op slices (cat \"op\")");
            console.Write(summary.Table());
            if (parse.GetValue(html) is { } page)
            {
                RooflinePage.Write(page.FullName, summary, $"Profile of {file.Name}");
                console.WriteLine($"wrote {page.FullName}");
            }
            return 0;
        }));
        return command;
    }
}
