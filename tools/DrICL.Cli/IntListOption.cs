using System.CommandLine;
using System.Globalization;

namespace DrICL.Cli;

/// <summary>
/// Comma-separated whole numbers on the command line (`--k 0,1,3,5`), sorted and without repeats; parsed and
/// range-checked with the command line, like <see cref="BoundedOption"/>.
/// </summary>
public static class IntListOption
{
    public static Option<int[]> Create(string name, IEnumerable<int> defaults, int min, int max, string description)
    {
        var fallback = defaults.ToArray();
        return new Option<int[]>(name)
        {
            Description = $"{description} (comma-separated, each in [{min}, {max}])",
            Arity = ArgumentArity.ExactlyOne,
            DefaultValueFactory = _ => fallback,
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var values = new List<int>();
                foreach (var part in parts)
                {
                    if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
                    {
                        result.AddError($"{name} {text}: '{part}' is not a whole number in [{min}, {max}]");
                        return fallback;
                    }
                    values.Add(v);
                }
                if (values.Count == 0) result.AddError($"{name} '{text}': expected a comma-separated list of whole numbers");
                return [.. values.Distinct().Order()];
            },
        };
    }
}
