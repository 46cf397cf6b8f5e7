using System.CommandLine;

namespace DrICL.Cli;

/// <summary>`--allow-nonfinite`, on every command that loads weights: without it, a NaN or Inf weight is refused at load.</summary>
public static class AllowNonFiniteOption
{
    public static Option<bool> Create() => new("--allow-nonfinite") { Description = "load weights that hold NaN or Inf values (refused by default)" };
}
