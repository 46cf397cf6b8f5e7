using System.CommandLine;
using DrICL.Kernels;
using DrICL.Training.Objectives;

namespace DrICL.Cli;

/// <summary>The objective and its hyperparameters as command-line options (DrICL paper defaults).</summary>
public sealed class ObjectiveOptions
{
    readonly Option<string> name = new("--objective") { DefaultValueFactory = _ => "dricl", Description = "it | metaicl | dricl" };
    readonly Option<float> alpha = new("--alpha") { DefaultValueFactory = _ => 0.2f, Description = "DrICL: weight between many-shot and zero-shot terms" };
    readonly Option<float> gamma = new("--gamma") { DefaultValueFactory = _ => 11f, Description = "DrICL: advantage temperature" };
    readonly Option<int> window = new("--window") { DefaultValueFactory = _ => 10, Description = "DrICL: demonstrations per baseline window" };
    readonly Option<int?> sampleSize = new("--sample-size") { Description = "DrICL: keep only the N largest importance weights" };
    readonly Option<string> prefix = new("--prefix-visibility") { DefaultValueFactory = _ => "all", Description = "DrICL zero-shot mask: all | first | none" };

    public static ObjectiveOptions Create() => new();

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { name, alpha, gamma, window, sampleSize, prefix }) command.Options.Add(o);
    }

    public IObjective Build(ParseResult parse) => Create(parse.GetValue(name)!, new DrIclOptions(parse.GetValue(alpha), parse.GetValue(gamma), parse.GetValue(window),
        parse.GetValue(sampleSize), parse.GetValue(prefix) switch
        {
            "all" => PrefixVisibility.All,
            "first" => PrefixVisibility.First,
            "none" => PrefixVisibility.None,
            var other => throw new CliError($"--prefix-visibility {other}: use all, first or none"),
        }));

    public static IObjective Create(string name, DrIclOptions dricl) =>
        ObjectiveCatalog.Names.Contains(name) ? ObjectiveCatalog.Create(name, dricl) : throw new CliError($"--objective {name}: use {string.Join(", ", ObjectiveCatalog.Names)}");
}
