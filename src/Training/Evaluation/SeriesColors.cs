namespace DrICL.Training.Evaluation;

/// <summary>
/// Colours for named series, kept for the whole page so one arm has one colour in every chart: fixed colours for
/// the objectives this project compares (Okabe–Ito palette, distinguishable with colour blindness), then the rest
/// of the palette for other names in the order they first appear.
/// </summary>
sealed class SeriesColors
{
    static readonly Dictionary<string, string> Known = new() { ["none"] = "#6e6e6e", ["it"] = "#0072b2", ["metaicl"] = "#009e73", ["dricl"] = "#d55e00" };
    static readonly string[] Others = ["#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442", "#999933", "#882255", "#44aa99"];

    readonly Dictionary<string, string> assigned = [];
    int next;

    /// <summary>The colour of a name already drawn.</summary>
    public bool TryGet(string name, out string color) => assigned.TryGetValue(name, out color!);

    public string this[string name]
    {
        get
        {
            if (assigned.TryGetValue(name, out var color)) return color;
            color = Known.TryGetValue(name, out var known) ? known : Others[next++ % Others.Length];
            assigned[name] = color;
            return color;
        }
    }
}
