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
        var skip = new Option<int>("--skip-steps") { DefaultValueFactory = _ => 0, Description = "leave out the first N steps (warm-up: the first carries the JIT's compilation)" };
        var command = new Command("profile", "Summarize a --profile trace: time, GFLOP/s, GB/s and % of the roofline bound per op kind") { trace, html, skip };
        command.SetAction(parse => CliError.Guard(parse, console =>
        {
            var file = parse.GetValue(trace)!;
            if (!file.Exists) throw new CliError($"{file.FullName}: no such trace");
            var read = ProfileTrace.Read(file.FullName);
            int skipSteps = parse.GetValue(skip), steps = read.Slices.Count(ProfileSummary.IsStep);
            if (skipSteps < 0 || (skipSteps > 0 && skipSteps >= steps)) throw new CliError($"--skip-steps {skipSteps}: {file.FullName} has {steps} steps");
            var summary = ProfileSummary.Of(read, skipSteps);
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
