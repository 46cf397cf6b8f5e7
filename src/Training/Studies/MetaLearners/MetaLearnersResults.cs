using System.Text.Json.Nodes;

namespace DrICL.Training.Studies.MetaLearners;

/// <summary>
/// Every score of a meta-learners run, as scores[shot index][training seed][evaluation item] (1 for an exact answer),
/// and what the report derives from them: bootstrap intervals per arm, family and shot count, and the paired
/// difference mixed − single per family, at each shot count and pooled over them.
/// </summary>
public sealed class MetaLearnersResults(MetaLearnersPlan plan, IReadOnlyList<MetaLearnerFamily> families, int seeds)
{
    public MetaLearnersPlan Plan { get; } = plan;
    public IReadOnlyList<MetaLearnerFamily> Families { get; } = families;
    public int Seeds { get; } = seeds;

    /// <summary>Per family, the shot counts whose episodes fit the context (a prefix of the plan's).</summary>
    public Dictionary<string, int[]> Shots { get; } = [];

    /// <summary>(arm, family) → [shot index][seed][item]; the mixed arm has all three families, a single arm its own.</summary>
    public Dictionary<(string Arm, string Family), double[][][]> Model { get; } = [];

    /// <summary>Family → the reference learner's [shot index][seed][item].</summary>
    public Dictionary<string, double[][][]> Reference { get; } = [];

    /// <summary>Family → the Bayes-optimal solver's (<see cref="Synthetic.ISyntheticFamily.Solve"/>) [shot index][seed][item].</summary>
    public Dictionary<string, double[][][]> Bayes { get; } = [];

    /// <summary>Arm → training loss [seed][step].</summary>
    public Dictionary<string, double[][]> Loss { get; } = [];

    /// <summary>Arm → wall seconds of its training and evaluation, all seeds.</summary>
    public Dictionary<string, double> Seconds { get; } = [];

    public Interval ModelAt(string arm, string family, int shotIndex) => Bootstrap.Mean(Model[(arm, family)][shotIndex]);
    public Interval ReferenceAt(string family, int shotIndex) => Bootstrap.Mean(Reference[family][shotIndex]);
    public Interval BayesAt(string family, int shotIndex) => Bootstrap.Mean(Bayes[family][shotIndex]);

    public Interval Difference(string family, int shotIndex) =>
        Bootstrap.PairedDifference(Model[(MetaLearnersArm.MixedName, family)][shotIndex], Model[(family, family)][shotIndex]);

    /// <summary>mixed − single over every shot count at once: each seed's items of all shot counts together.</summary>
    public Interval PooledDifference(string family) =>
        Bootstrap.PairedDifference(Pooled(Model[(MetaLearnersArm.MixedName, family)]), Pooled(Model[(family, family)]));

    /// <summary>The in-context gain: accuracy at the largest shot count minus at the smallest, paired by seed and item
    /// (the same queries, the first shots of the same demonstrations).</summary>
    public Interval Gain(string arm, string family)
    {
        var byShot = Model[(arm, family)];
        return Bootstrap.PairedDifference(byShot[^1], byShot[0]);
    }

    static double[][] Pooled(double[][][] byShot) =>
        [.. Enumerable.Range(0, byShot[0].Length).Select(s => byShot.SelectMany(shot => shot[s]).ToArray())];

    public JsonObject ToJson(JsonObject meta)
    {
        var familiesJson = new JsonObject();
        foreach (var f in Families)
        {
            var shots = Shots[f.Name];
            JsonObject Curve(Func<int, Interval> at, double[][][] raw) => new()
            {
                ["accuracy"] = new JsonArray([.. shots.Select((_, i) => (JsonNode)at(i).ToJson())]),
                ["scores"] = Raw(raw),
            };
            familiesJson[f.Name] = new JsonObject
            {
                ["paradigm"] = f.Paradigm,
                ["learner"] = f.LearnerName,
                ["shots"] = new JsonArray([.. shots.Select(k => (JsonNode)k)]),
                ["reference"] = Curve(i => ReferenceAt(f.Name, i), Reference[f.Name]),
                ["bayes"] = Curve(i => BayesAt(f.Name, i), Bayes[f.Name]),
                ["single"] = Curve(i => ModelAt(f.Name, f.Name, i), Model[(f.Name, f.Name)]),
                ["mixed"] = Curve(i => ModelAt(MetaLearnersArm.MixedName, f.Name, i), Model[(MetaLearnersArm.MixedName, f.Name)]),
                ["in_context_gain"] = new JsonObject
                {
                    ["single"] = Gain(f.Name, f.Name).ToJson(),
                    ["mixed"] = Gain(MetaLearnersArm.MixedName, f.Name).ToJson(),
                },
                ["mixed_minus_single"] = new JsonObject
                {
                    ["by_shots"] = new JsonArray([.. shots.Select((_, i) => (JsonNode)Difference(f.Name, i).ToJson())]),
                    ["pooled"] = PooledDifference(f.Name).ToJson(),
                },
            };
        }
        return new JsonObject
        {
            ["study"] = "meta-learners",
            ["meta"] = meta,
            ["families"] = familiesJson,
            ["training_loss"] = new JsonObject(Loss.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)Matrix(pair.Value)))),
            ["seconds"] = new JsonObject(Seconds.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)Math.Round(pair.Value, 1)))),
        };
    }

    /// <summary>[shot index][seed][item], written as 0/1 integers.</summary>
    static JsonArray Raw(double[][][] scores) => new([.. scores.Select(shot => (JsonNode)Matrix(shot))]);

    static JsonArray Matrix(double[][] values) => new([.. values.Select(row => (JsonNode)new JsonArray([.. row.Select(v => (JsonNode)Math.Round(v, 4))]))]);
}
