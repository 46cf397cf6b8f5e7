namespace DrICL.Training.Objectives;

/// <summary>The objectives by the names the command line and reports use.</summary>
public static class ObjectiveCatalog
{
    public static readonly string[] Names = ["it", "metaicl", "dricl"];

    public static IObjective Create(string name, DrIclOptions dricl) => name switch
    {
        "it" => new InstructionTuning(),
        "metaicl" => new MetaIcl(),
        "dricl" => new DrIcl(dricl),
        _ => throw new ArgumentException($"unknown objective '{name}': use {string.Join(", ", Names)}"),
    };
}
