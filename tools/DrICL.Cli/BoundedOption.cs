using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace DrICL.Cli;

/// <summary>
/// A numeric option with its allowed range, checked when the command line is parsed: an out-of-range,
/// NaN or infinite value is refused before any work starts, with the range in the message
/// (`--lr NaN: must be in [0, 1]`). The range also shows in --help. A value that is not a number at all
/// is left to the parser's own error.
/// </summary>
public static class BoundedOption
{
    /// <summary>An option in [min, max] (or (min, max] when minExclusive) with a default value.</summary>
    public static Option<T> Create<T>(string name, T defaultValue, T min, T max, string description, bool minExclusive = false) where T : struct, INumber<T>
    {
        var option = new Option<T>(name) { DefaultValueFactory = _ => defaultValue, Description = $"{description} {Range(min, max, minExclusive)}" };
        option.Validators.Add(result =>
        {
            if (TryValue(result, out T value)) Check(result, name, value, min, max, minExclusive);
        });
        return option;
    }

    /// <summary>An option in [min, max] that may be left out (null).</summary>
    public static Option<T?> Optional<T>(string name, T min, T max, string description) where T : struct, INumber<T>
    {
        var option = new Option<T?>(name) { Description = $"{description} {Range(min, max, false)}" };
        option.Validators.Add(result =>
        {
            if (TryValue(result, out T? value) && value is { } v) Check(result, name, v, min, max, false);
        });
        return option;
    }

    /// <summary>An option whose value must be one of <paramref name="choices"/>.</summary>
    public static Option<string> OneOf(string name, string defaultValue, IReadOnlyList<string> choices, string description)
    {
        var option = new Option<string>(name) { DefaultValueFactory = _ => defaultValue, Description = $"{description}: {string.Join(" | ", choices)}" };
        option.Validators.Add(result =>
        {
            if (TryValue(result, out string? value) && !choices.Contains(value!)) result.AddError($"{name} {value}: must be one of {string.Join(", ", choices)}");
        });
        return option;
    }

    static bool TryValue<T>(OptionResult result, out T? value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException) // not convertible: the parser reports it
        {
            value = default;
            return false;
        }
    }

    static void Check<T>(OptionResult result, string name, T value, T min, T max, bool minExclusive) where T : struct, INumber<T>
    {
        bool inRange = !T.IsNaN(value) && (minExclusive ? value > min : value >= min) && value <= max;
        if (!inRange) result.AddError($"{name} {Format(value)}: must be in {Range(min, max, minExclusive)}");
    }

    static string Range<T>(T min, T max, bool minExclusive) where T : INumber<T> =>
        $"{(minExclusive ? "(" : "[")}{Format(min)}, {Format(max)}]";

    static string Format<T>(T value) where T : INumber<T> => value.ToString(null, CultureInfo.InvariantCulture);
}
