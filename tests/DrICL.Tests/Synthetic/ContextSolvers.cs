using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Tests.Synthetic;

/// <summary>
/// Simple learners that see only an episode's demonstrations and the query input (and, for clustering, which words
/// share a category: knowledge a model gets from training, since categories never change). Most pick the hypothesis of
/// the family's rule space that best fits the demonstrations, as a trained in-context learner would; label-map copies.
/// They show the latent is recoverable from the context: accuracy must climb with the number of shots.
/// </summary>
static class ContextSolvers
{
    public static Func<IReadOnlyList<TaskExample>, string, string> For(string family) => family switch
    {
        "linear-sign" => LinearSign,
        "prototype" => Prototype,
        "pair-metric" => PairMetric,
        "feature-rule" => FeatureRule,
        "label-map" => LabelMap,
        "cluster" => Cluster,
        "cipher" => Cipher,
        "extract" => Extract,
        _ => throw new ArgumentException($"no solver for family {family}"),
    };

    /// <summary>The candidate that disagrees with the fewest demonstrations (the first on ties) answers the query.</summary>
    static string BestFit<T>(IEnumerable<T> hypotheses, IReadOnlyList<TaskExample> demos, string query, Func<T, string, string> answer) =>
        answer(hypotheses.MinBy(h => demos.Count(demo => answer(h, demo.Input) != demo.Output))!, query);

    static IEnumerable<int[]> Vectors(int length, int low, int high) => length == 0
        ? [[]]
        : Vectors(length - 1, low, high).SelectMany(prefix => Enumerable.Range(low, high - low + 1).Select(v => (int[])[.. prefix, v]));

    static string LinearSign(IReadOnlyList<TaskExample> demos, string query)
    {
        int dimension = query.Split(',').Length;
        return BestFit(Vectors(dimension, -3, 3), demos, query, (w, input) =>
            input.Split(',').Select(int.Parse).Zip(w, (x, v) => x * v).Sum() > 0 ? "+" : "-");
    }

    static string Prototype(IReadOnlyList<TaskExample> demos, string query) =>
        demos.Count == 0 ? "A" : demos.MinBy(demo => demo.Input.Zip(query, (a, b) => Math.Abs(a - b)).Sum())!.Output;

    static string PairMetric(IReadOnlyList<TaskExample> demos, string query)
    {
        int length = query.IndexOf(' ');
        var metrics = Vectors(length, 0, 2).Where(w => w.Any(v => v > 0)).SelectMany(w => Enumerable.Range(0, 3).Select(t => (w, t)));
        return BestFit(metrics, demos, query, (metric, input) =>
        {
            var pair = input.Split(' ');
            int distance = metric.w.Select((v, i) => v * Math.Abs(pair[0][i] - pair[1][i])).Sum();
            return distance <= metric.t ? "y" : "n";
        });
    }

    static string FeatureRule(IReadOnlyList<TaskExample> demos, string query)
    {
        // For each feature, its value → label table by majority over the demonstrations; the feature whose table fits best.
        string Table(int f, char value) =>
            demos.Where(demo => demo.Input[f] == value).GroupBy(demo => demo.Output).OrderByDescending(g => g.Count()).ThenBy(g => g.Key)
                .Select(g => g.Key).FirstOrDefault() ?? "A";
        return BestFit(Enumerable.Range(0, query.Length), demos, query, (f, input) => Table(f, input[f]));
    }

    static string LabelMap(IReadOnlyList<TaskExample> demos, string query) =>
        demos.LastOrDefault(demo => demo.Input == query)?.Output ?? "A";

    static string Cluster(IReadOnlyList<TaskExample> demos, string query)
    {
        var category = Lexicon.Categories.Single(c => c.Words.Contains(query));
        return demos.FirstOrDefault(demo => category.Words.Contains(demo.Input))?.Output ?? "1";
    }

    static string Cipher(IReadOnlyList<TaskExample> demos, string query)
    {
        var image = new Dictionary<char, char>();
        foreach (var demo in demos)
            for (int i = 0; i < demo.Input.Length; i++) image[demo.Input[i]] = demo.Output[i];
        var shifts = image.Select(pair => (pair.Value - pair.Key + 26) % 26).Distinct().ToList();
        return string.Concat(query.Select(c =>
            image.TryGetValue(c, out char mapped) ? mapped : shifts.Count == 1 ? (char)('a' + (c - 'a' + shifts[0]) % 26) : '?'));
    }

    static string Extract(IReadOnlyList<TaskExample> demos, string query)
    {
        var topics = demos.Select(demo => demo.Output.Split(' ')[0]).ToHashSet();
        var sentences = query.Split(". ");
        return sentences.FirstOrDefault(sentence => topics.Contains(sentence.Split(' ')[0])) ?? sentences[0];
    }
}
