using System.Globalization;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>One arm's comparison with another on the same items: the paired bootstrap interval of (arm − baseline).</summary>
public sealed record PairedFinding(string Family, Interval Difference)
{
    /// <summary>"higher", "lower" or "no detectable difference", by whether the 95% interval excludes 0.</summary>
    public string Verdict => Difference.AboveZero ? "higher" : Difference.BelowZero ? "lower" : "no detectable difference";
}

/// <summary>
/// Everything the many-shot report shows, computed from the arms' raw scores: per family and arm the k-curve with
/// 95% intervals (two-stage bootstrap over seeds and items), the scores pooled over k ≥ <see cref="ManyShotPlan.ManyShotFrom"/>
/// per item, the paired intervals DrICL − IT and MetaICL − IT there, IT's own gain from k=0, the sensitivity points
/// against default DrICL trained as long as they are, the main arms' in-context gain while they trained, and the cost per
/// training step. "Average" pools every family's items, so each family weighs the same.
/// </summary>
public sealed class ManyShotFindings
{
    public const string Average = "average";

    public required EvaluationSet Items { get; init; }
    /// <summary>The steps at which the main arms were scored while training (ArmResults.DuringTraining's checkpoints).</summary>
    public required int[] CurveSteps { get; init; }
    public required IReadOnlyList<ArmResults> Arms { get; init; }
    public required ArmResults Solver { get; init; }
    public required IReadOnlyList<(ManyShotArm Arm, ArmResults Results)> Sweep { get; init; }
    /// <summary>Families whose curve reaches k ≥ ManyShotFrom; only they enter the many-shot comparisons.</summary>
    public required IReadOnlyList<string> ManyShotFamilies { get; init; }
    public required IReadOnlyList<PairedFinding> DrIclMinusIt { get; init; }
    public required IReadOnlyList<PairedFinding> MetaIclMinusIt { get; init; }
    public required IReadOnlyList<PairedFinding> ItGainOverZeroShot { get; init; }
    public required IReadOnlyList<(ManyShotArm Arm, Interval Score, Interval MinusDefault)> SweepPoints { get; init; }
    /// <summary>Default DrICL at the sweep's steps: the point the sensitivity points are compared with.</summary>
    public required Interval DefaultDrIclManyShot { get; init; }
    public required IReadOnlyDictionary<string, double> MedianStepSeconds { get; init; }

    public ArmResults Arm(string name) => Arms.First(a => a.Name == name);

    public static ManyShotFindings Compute(EvaluationSet items, int[] curveSteps, ArmResults none, IReadOnlyList<ArmResults> main, ArmResults solver,
        IReadOnlyList<(ManyShotArm Arm, ArmResults Results)> sweep)
    {
        var manyShot = items.Families.Where(f => f.Shots.Any(k => k >= ManyShotPlan.ManyShotFrom)).Select(f => f.Family.Name).ToList();
        if (manyShot.Count == 0) throw new InvalidDataException($"no family fits k >= {ManyShotPlan.ManyShotFrom} in the context: the study cannot compare many shots");
        var arms = new List<ArmResults> { none };
        arms.AddRange(main);
        var it = main.First(a => a.Name == "it");
        var dricl = main.First(a => a.Name == "dricl");
        var metaicl = main.First(a => a.Name == "metaicl");
        var sweepDefault = sweep.First(p => p.Arm.Factor == "default").Results;

        List<PairedFinding> Paired(Func<string?, double[][]> a, Func<string?, double[][]> b) =>
            [.. manyShot.Append(null).Select(f => new PairedFinding(f ?? Average, Bootstrap.PairedDifference(a(f), b(f))))];

        return new ManyShotFindings
        {
            Items = items,
            CurveSteps = curveSteps,
            Arms = arms,
            Solver = solver,
            Sweep = sweep,
            ManyShotFamilies = manyShot,
            DrIclMinusIt = Paired(f => PooledManyShot(items, dricl, f), f => PooledManyShot(items, it, f)),
            MetaIclMinusIt = Paired(f => PooledManyShot(items, metaicl, f), f => PooledManyShot(items, it, f)),
            ItGainOverZeroShot = Paired(f => PooledManyShot(items, it, f), f => PooledZeroShot(items, it, manyShot, f)),
            SweepPoints = [.. sweep.Where(p => p.Arm.Factor != "default").Select(p => (p.Arm, Bootstrap.Mean(PooledManyShot(items, p.Results, null)),
                Bootstrap.PairedDifference(PooledManyShot(items, p.Results, null), PooledManyShot(items, sweepDefault, null))))],
            DefaultDrIclManyShot = Bootstrap.Mean(PooledManyShot(items, sweepDefault, null)),
            MedianStepSeconds = main.ToDictionary(a => a.Name, a => a.MedianStepSeconds() ?? double.NaN),
        };
    }

    /// <summary>The arm's k-curve on one family (or the average over the families that reach every k): (k, interval) per k.</summary>
    public IReadOnlyList<(int K, Interval Score)> Curve(ArmResults arm, string family)
    {
        if (family != Average)
        {
            int f = FamilyIndex(family);
            return [.. Items.Families[f].Shots.Select((k, i) => (k, Bootstrap.Mean(arm.Scores[f][i])))];
        }
        int common = Items.Families.Min(f => f.Shots.Length);
        return [.. Enumerable.Range(0, common).Select(i => (Items.Families[0].Shots[i],
            Bootstrap.Mean(Concatenate(Enumerable.Range(0, Items.Families.Count).Select(f => arm.Scores[f][i]).ToList(), Items.Seeds))))];
    }

    /// <summary>
    /// A main arm's scores while it trained, pooled over families, per checkpoint: its step, the interval at k=0, the
    /// interval at each family's largest k, and the paired gain (largest k − k=0) on the same items.
    /// </summary>
    public IReadOnlyList<(int Step, Interval ZeroShot, Interval LargestK, Interval Gain)> DuringTraining(ArmResults arm) =>
        [.. CurveSteps.Select((step, c) =>
        {
            double[][] End(int end) => Concatenate([.. arm.DuringTraining[c].Select(family => family[end])], Items.Seeds);
            return (step, Bootstrap.Mean(End(0)), Bootstrap.Mean(End(1)), Bootstrap.PairedDifference(End(1), End(0)));
        })];

    /// <summary>DrICL's cost per training step relative to IT's: the ratio of their median step times.</summary>
    public double DrIclStepCostRatio => MedianStepSeconds["dricl"] / MedianStepSeconds["it"];

    /// <summary>The headline findings as sentences, every number from the run.</summary>
    public IEnumerable<string> Headlines()
    {
        var average = DrIclMinusIt.First(p => p.Family == Average);
        var gain = ItGainOverZeroShot.First(p => p.Family == Average);
        yield return Text($"IT at k >= {ManyShotPlan.ManyShotFrom} minus IT at k=0 (families {string.Join(", ", ManyShotFamilies)}): {gain.Difference.ToSignedString()} ({gain.Verdict}).");
        yield return Text($"DrICL - IT at k >= {ManyShotPlan.ManyShotFrom}, averaged: {average.Difference.ToSignedString()}: DrICL is {average.Verdict switch { "higher" => "better than IT", "lower" => "worse than IT", _ => "not distinguishable from IT" }}.");
        foreach (var p in DrIclMinusIt.Where(p => p.Family != Average)) yield return Text($"  {p.Family}: DrICL - IT {p.Difference.ToSignedString()} ({p.Verdict})");
        yield return Text($"DrICL's step costs {DrIclStepCostRatio:F2}x IT's (median {MedianStepSeconds["dricl"]:F3} s vs {MedianStepSeconds["it"]:F3} s).");
    }

    /// <summary>Per item, the mean score over the family's k ≥ ManyShotFrom: [seed][item]; for the average, all many-shot families' items side by side.</summary>
    public static double[][] PooledManyShot(EvaluationSet items, ArmResults arm, string? family) =>
        Pooled(items, arm, family, k => k >= ManyShotPlan.ManyShotFrom, items.Families.Where(f => f.Shots.Any(k => k >= ManyShotPlan.ManyShotFrom)).Select(f => f.Family.Name).ToList());

    static double[][] PooledZeroShot(EvaluationSet items, ArmResults arm, IReadOnlyList<string> families, string? family) =>
        Pooled(items, arm, family, k => k == 0, families);

    static double[][] Pooled(EvaluationSet items, ArmResults arm, string? family, Func<int, bool> atK, IReadOnlyList<string> families)
    {
        double[][] One(int f)
        {
            var ks = Enumerable.Range(0, items.Families[f].Shots.Length).Where(i => atK(items.Families[f].Shots[i])).ToArray();
            if (ks.Length == 0) throw new InvalidDataException($"family {items.Families[f].Family.Name}: no k to pool");
            return [.. Enumerable.Range(0, items.Seeds).Select(s => Enumerable.Range(0, items.Items).Select(i => ks.Average(k => arm.Scores[f][k][s][i])).ToArray())];
        }
        return family is not null ? One(items.Families.ToList().FindIndex(f => f.Family.Name == family))
            : Concatenate([.. families.Select(name => One(items.Families.ToList().FindIndex(f => f.Family.Name == name)))], items.Seeds);
    }

    /// <summary>Per seed, the items of every part side by side: [seed][part × items].</summary>
    static double[][] Concatenate(IReadOnlyList<double[][]> parts, int seeds) =>
        [.. Enumerable.Range(0, seeds).Select(s => parts.SelectMany(p => p[s]).ToArray())];

    int FamilyIndex(string family) => Items.Families.ToList().FindIndex(f => f.Family.Name == family) is int i and >= 0 ? i
        : throw new ArgumentException($"no family '{family}' in the study");

    static string Text(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
