using System.CommandLine;
using System.Globalization;
using DrICL.Kernels;
using DrICL.Training.Objectives;

namespace DrICL.Cli;

/// <summary>The objective and its hyperparameters as command-line options (DrICL paper defaults).</summary>
public sealed class ObjectiveOptions
{
    readonly Option<string> name = BoundedOption.OneOf("--objective", "dricl", ObjectiveCatalog.Names, "training objective");
    readonly Option<float> alpha = BoundedOption.Create("--alpha", 0.2f, -1f, 1f, "DrICL: weight between many-shot and zero-shot terms");
    readonly Option<float> gamma = BoundedOption.Create("--gamma", 11f, 0f, 1e6f, "DrICL: advantage temperature", minExclusive: true);
    readonly Option<int> window = BoundedOption.Create("--window", 10, 1, 1_000_000, "DrICL: demonstrations per baseline window");
    readonly Option<int?> sampleSize = BoundedOption.Optional("--sample-size", 1, 1_000_000, "DrICL: keep only the N largest importance weights");
    readonly Option<string> prefix = BoundedOption.OneOf("--prefix-visibility", "all", ["all", "first", "none"], "DrICL zero-shot mask");

    public static ObjectiveOptions Create() => new();

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { name, alpha, gamma, window, sampleSize, prefix }) command.Options.Add(o);
    }

    public IObjective Build(ParseResult parse) => ObjectiveCatalog.Create(parse.GetValue(name)!, Hyperparameters(parse));

    /// <summary>The objective's name and the hyperparameters it uses, as recorded in a checkpoint (resuming with others needs --force).</summary>
    public Dictionary<string, string> Settings(ParseResult parse)
    {
        var settings = new Dictionary<string, string> { ["objective"] = parse.GetValue(name)! };
        if (settings["objective"] != "dricl") return settings;
        var d = Hyperparameters(parse);
        settings["alpha"] = d.Alpha.ToString("R", CultureInfo.InvariantCulture);
        settings["gamma"] = d.Gamma.ToString("R", CultureInfo.InvariantCulture);
        settings["window"] = d.Window.ToString(CultureInfo.InvariantCulture);
        settings["sample_size"] = d.SampleSize?.ToString(CultureInfo.InvariantCulture) ?? "all";
        settings["prefix_visibility"] = parse.GetValue(prefix)!;
        return settings;
    }

    DrIclOptions Hyperparameters(ParseResult parse) => new(parse.GetValue(alpha), parse.GetValue(gamma), parse.GetValue(window), parse.GetValue(sampleSize),
        parse.GetValue(prefix) switch
        {
            "first" => PrefixVisibility.First,
            "none" => PrefixVisibility.None,
            _ => PrefixVisibility.All,
        });
}
