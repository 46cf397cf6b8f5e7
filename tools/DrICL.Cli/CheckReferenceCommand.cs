using System.CommandLine;
using DrICL.Training;

namespace DrICL.Cli;

/// <summary>`dricl check-reference DIR`: recompute a golden fixture folder and compare every tensor.</summary>
public static class CheckReferenceCommand
{
    public static Command Create()
    {
        var dir = new Argument<DirectoryInfo>("dir") { Description = "fixture folder: config.json, model/inputs/expected.safetensors, case.json" };
        var allowNonFinite = AllowNonFiniteOption.Create();
        var device = new DeviceOption();
        var command = new Command("check-reference", "Recompute a golden fixture and compare every expected tensor; exit 0 only if all pass") { dir, allowNonFinite };
        device.AddTo(command);
        command.SetAction(parse => CliError.Guard(parse, output =>
        {
            var folder = parse.GetValue(dir)!;
            if (!folder.Exists) throw new CliError($"{folder.FullName}: no such folder");
            using var dev = device.Open(parse);
            var profile = ToleranceProfile.For(dev, ReferenceCheck.LoadCase(folder.FullName));
            output.WriteLine(profile);
            int failed = 0, total = 0, notCompared = 0;
            output.WriteLine($"{"tensor",-56} {"max|diff|",12} {"allowed",12}");
            foreach (var r in ReferenceCheck.Run(folder.FullName, dev, profile, parse.GetValue(allowNonFinite)))
            {
                total++;
                if (!r.Passed) failed++;
                if (r.NotCompared is not null) notCompared++;
                string verdict = r.NotCompared is not null ? $"not compared ({r.NotCompared})" : r.Passed ? "ok" : "FAIL" + (r.Problem is null ? "" : $" ({r.Problem})");
                output.WriteLine($"{r.Name,-56} {r.MaxAbsDiff,12:E3} {r.Allowed,12:E3}  {verdict}");
            }
            output.WriteLine($"{total - failed}/{total} tensors match{(notCompared > 0 ? $" ({notCompared} not compared)" : "")} ({dev.Name}, {profile.Name} tolerances)");
            return failed == 0 ? 0 : 1;
        }));
        return command;
    }
}
