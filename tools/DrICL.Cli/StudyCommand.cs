using System.CommandLine;
using DrICL.Kernels;
using DrICL.Training.Studies;
using DrICL.Training.Studies.ManyShot;
using DrICL.Training.Studies.MetaLearners;
using DrICL.Training.Studies.MetaMeta;

namespace DrICL.Cli;

/// <summary>
/// `dricl study NAME`: the reproducible studies of issue 14. Every study shares the options below: the budget scales
/// its default plan's training steps, the size flags its default model, --quick runs its tiny plan (for tests).
/// Each writes results.json and report.html into --out.
/// </summary>
public static class StudyCommand
{
    public static Command Create()
    {
        var command = new Command("study", "Run a reproducible study (several training seeds per arm, bootstrap intervals, paired comparisons) and write results.json and report.html");
        command.Subcommands.Add(Study("many-shot", ManyShotStudy.Description, ManyShotPlan.DefaultMinutes, ManyShotStudy.Run));
        command.Subcommands.Add(Study("meta-learners", MetaLearnersStudy.Description, MetaLearnersPlan.DefaultMinutes, MetaLearnersStudy.Run));
        command.Subcommands.Add(Study("curriculum", CurriculumStudy.Description, CurriculumPlan.DefaultMinutes, CurriculumStudy.Run));
        command.Subcommands.Add(Study("meta-meta", MetaMetaStudy.Description, MetaMetaPlan.DefaultMinutes, MetaMetaStudy.Run));
        return command;
    }

    /// <summary>
    /// One study's subcommand with the shared options; <paramref name="run"/> writes both files and logs its findings. The help
    /// text states the default plan's minutes from the plan itself, so it cannot go stale when the plan changes.
    /// </summary>
    static Command Study(string name, string description, double defaultMinutes, Action<StudyOptions, IDevice, TextWriter> run)
    {
        var output = new Option<DirectoryInfo?>("--out") { Description = $"where results.json and report.html go (default: study-out/{name})" };
        var budget = BoundedOption.Optional("--budget", 0.1, 100_000.0, "minutes on a 2-core machine like ours: scales the default plan's training steps (default: the study's own)");
        var quick = new Option<bool>("--quick") { Description = "the tiny plan: the same code path in seconds (for tests)" };
        var seeds = BoundedOption.Create("--seeds", 3, 2, 1000, "training seeds per arm");
        var layers = BoundedOption.Optional("--layers", 1, 256, "model layers (default: the study's model)");
        var dim = BoundedOption.Optional("--dim", 8, 65_536, "model width; the MLP is 3x wider (default: the study's model)");
        var heads = BoundedOption.Optional("--heads", 1, 1024, "attention heads; must divide --dim (default: the study's model)");
        var context = BoundedOption.Optional("--context", 16, 1_048_576, "tokens per episode (default: the study's context)");
        var device = new DeviceOption();
        var study = new Command(name, FormattableString.Invariant($"{description} (default plan: {defaultMinutes} minutes on 2 quiet cores; --budget scales its steps)")) { output, budget, quick, seeds, layers, dim, heads, context };
        device.AddTo(study);
        study.SetAction(parse => CliError.Guard(parse, console =>
        {
            var options = new StudyOptions
            {
                OutputDir = (parse.GetValue(output)?.FullName) ?? Path.GetFullPath(Path.Combine("study-out", name)),
                BudgetMinutes = parse.GetValue(budget),
                Quick = parse.GetValue(quick),
                Seeds = parse.GetValue(seeds),
                Layers = parse.GetValue(layers),
                Dim = parse.GetValue(dim),
                Heads = parse.GetValue(heads),
                Context = parse.GetValue(context),
            };
            using var dev = device.Open(parse);
            Directory.CreateDirectory(options.OutputDir);
            run(options, dev, console);
            console.WriteLine($"report: {Path.Combine(options.OutputDir, "report.html")}");
            console.WriteLine($"data:   {Path.Combine(options.OutputDir, "results.json")}");
            return 0;
        }));
        return study;
    }
}
