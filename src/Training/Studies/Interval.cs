using System.Globalization;
using System.Text.Json.Nodes;

namespace DrICL.Training.Studies;

/// <summary>A point estimate and its confidence interval [Low, High].</summary>
public readonly record struct Interval(double Estimate, double Low, double High)
{
    public bool Contains(double value) => value >= Low && value <= High;

    /// <summary>True when the whole interval is above zero: a difference that holds at this confidence.</summary>
    public bool AboveZero => Low > 0;

    /// <summary>True when the whole interval is below zero.</summary>
    public bool BelowZero => High < 0;

    public JsonObject ToJson() => new() { ["estimate"] = Estimate, ["low"] = Low, ["high"] = High };

    /// <summary>"0.512 [0.480, 0.550]".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Estimate:F3} [{Low:F3}, {High:F3}]");

    /// <summary>"+0.031 [-0.012, +0.074]": for differences, where the sign is the point.</summary>
    public string ToSignedString() => string.Create(CultureInfo.InvariantCulture, $"{Estimate:+0.000;-0.000;0.000} [{Low:+0.000;-0.000;0.000}, {High:+0.000;-0.000;0.000}]");
}
