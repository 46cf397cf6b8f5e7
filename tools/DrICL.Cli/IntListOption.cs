using System.Globalization;

namespace DrICL.Cli;

/// <summary>Comma-separated whole numbers on the command line (`--k 0,1,3,5`), sorted and without repeats.</summary>
public static class IntListOption
{
    public static int[] Parse(string text, string option)
    {
        try { return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).Distinct().Order()]; }
        catch (Exception e) when (e is FormatException or OverflowException) { throw new CliError($"{option} {text}: expected a comma-separated list of whole numbers"); }
    }
}
