using System.CommandLine;
using System.Globalization;
using DrICL.Training.Demo;
using DrICL.Training.Objectives;
using DrICL.Training.Synthetic;

namespace DrICL.Cli;

/// <summary>`dricl demo`: the built-in end-to-end run (train IT, MetaICL and DrICL from scratch, evaluate over k, write the report).</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var defaults = new DemoOptions();
        var output = new Option<DirectoryInfo>("--out") { DefaultValueFactory = _ => new DirectoryInfo(defaults.OutputDir), Description = "where report.html and results.json go" };
        var steps = BoundedOption.Create("--steps", defaults.Steps, 1, 1_000_000_000, "optimizer steps per objective");
        var objectives = new Option<string>("--objectives") { DefaultValueFactory = _ => string.Join(",", defaults.Objectives), Description = "comma-separated: it, metaicl, dricl" };
        var shots = IntListOption.Create("--k", defaults.Shots, 0, 100_000, "demonstration counts to evaluate (each task up to what fits)");
        var seeds = BoundedOption.Create("--seeds", defaults.Seeds, 1, 10_000, "demonstration samplings per k");
        var queries = BoundedOption.Create("--queries", defaults.QueriesPerSeed, 1, SyntheticSuite.QueriesPerLatent, "held-out queries per seed");
        var curriculum = new Option<bool>("--curriculum") { Description = "ramp shots and difficulty over the first half of training" };
        var device = new DeviceOption();
        var command = new Command("demo", "Train a small Llama from scratch with IT, MetaICL and DrICL on the built-in many-shot suite, evaluate over k, write an HTML report")
        {
            output, steps, objectives, shots, seeds, queries, curriculum,
        };
        device.AddTo(command);
        var profile = new ProfileOption();
        profile.AddTo(command);
        command.SetAction(parse => CliError.Guard(parse, console =>
        {
            var options = defaults with
            {
                OutputDir = parse.GetValue(output)!.FullName,
                Steps = parse.GetValue(steps),
                Objectives = parse.GetValue(objectives)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Shots = parse.GetValue(shots)!,
                Seeds = parse.GetValue(seeds),
                QueriesPerSeed = parse.GetValue(queries),
                Curriculum = parse.GetValue(curriculum),
            };
            foreach (var o in options.Objectives)
                if (!ObjectiveCatalog.Names.Contains(o)) throw new CliError($"--objectives: unknown objective '{o}' (use {string.Join(", ", ObjectiveCatalog.Names)})");
            using var dev = profile.Wrap(parse, device.Open(parse), console);
            var report = ManyShotDemo.Run(options, dev, console);
            console.WriteLine();
            console.WriteLine("task-averaged score by k (mean ± spread over seeds; tasks that cannot hold k drop out):");
            foreach (var (name, curve) in report.Objectives)
                console.WriteLine($"  {name,-8} " + string.Join("  ", curve.K.Select((k, i) => string.Create(CultureInfo.InvariantCulture, $"k={k}: {curve.Average.Mean[i]:F3}±{curve.Average.Spread[i]:F3}"))));
            console.WriteLine($"took {report.Meta["total_seconds"]} s");
            console.WriteLine($"report: {Path.Combine(options.OutputDir, "report.html")}");
            console.WriteLine($"data:   {Path.Combine(options.OutputDir, "results.json")}");
            return 0;
        }));
        return command;
    }
}
