using DrICL.Training.Objectives;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// One trained arm: an objective and, for DrICL, its hyperparameters. <see cref="Factor"/> names the DrICL setting a
/// sensitivity point moves away from the default (alpha, gamma or window); null for the main arms.
/// </summary>
public sealed record ManyShotArm(string Name, string Objective, DrIclOptions DrIcl, string? Factor = null)
{
    public static readonly DrIclOptions Defaults = new();

    /// <summary>The arms every seed trains: IT, MetaICL and DrICL at the paper's defaults.</summary>
    public static IReadOnlyList<ManyShotArm> Main { get; } =
    [
        new("it", "it", Defaults),
        new("metaicl", "metaicl", Defaults),
        new("dricl", "dricl", Defaults),
    ];

    /// <summary>
    /// The sensitivity sweep, one factor at a time around the default (alpha 0.2, gamma 11, window 10): the default
    /// itself (trained at the sweep's steps), then each factor at a third of and three times its default (alpha, which
    /// weighs the many-shot against the zero-shot term, at 0 and 0.5).
    /// </summary>
    public static IReadOnlyList<ManyShotArm> Sweep { get; } =
    [
        new("dricl sweep default", "dricl", Defaults, "default"),
        new("dricl alpha=0", "dricl", Defaults with { Alpha = 0f }, "alpha"),
        new("dricl alpha=0.5", "dricl", Defaults with { Alpha = 0.5f }, "alpha"),
        new("dricl gamma=3.7", "dricl", Defaults with { Gamma = 11f / 3 }, "gamma"),
        new("dricl gamma=33", "dricl", Defaults with { Gamma = 33f }, "gamma"),
        new("dricl window=3", "dricl", Defaults with { Window = 3 }, "window"),
        new("dricl window=30", "dricl", Defaults with { Window = 30 }, "window"),
    ];

    public IObjective Create() => ObjectiveCatalog.Create(Objective, DrIcl);
}
