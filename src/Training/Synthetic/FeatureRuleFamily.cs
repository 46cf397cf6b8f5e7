using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// Amortized rule classification: an input is F features, each one of x, y, z, written "xzy"; per episode one feature f
/// is relevant and a lookup table (not constant) maps its value to a label A, B or C. The other features are
/// distractors, so a query is answered by finding demonstrations that agree with it on feature f and copying their
/// label. Difficulty: F = 3, 4, 5. Queries are held-out inputs.
/// </summary>
public sealed class FeatureRuleFamily : ISyntheticFamily
{
    const string Values = "xyz";
    const string Labels = "ABC";
    static readonly int[] FeaturesAt = [3, 4, 5];

    public string Name => "feature-rule";
    public string Instruction => "Rule.";
    public string Kind => "classification";
    public string Metric => "accuracy";

    /// <summary>The per-episode latent: the relevant feature and the label of each of its values.</summary>
    sealed record Rule(int Feature, string LabelOfValue);

    public SyntheticEpisodeTask Sample(SplitMix64 random, Split split, int difficulty, int examples, int queries)
    {
        SyntheticSuite.CheckDifficulty(difficulty);
        int features = FeaturesAt[difficulty];
        var rule = LatentSplit.Draw(Name, split, () => DrawRule(random, features), Describe);
        return HeldOutExamples.Draw(this, Describe(rule), () => Example(random, rule, features), examples, queries);
    }

    /// <summary>
    /// Exact Bayes (see <see cref="ISyntheticFamily.Solve"/>): every rule (a feature of the query's length and a
    /// non-constant table, uniform prior) gives every input the same chance, so the posterior is uniform over the rules
    /// that label all demonstrations as shown, and the answer is the label most of them give the query.
    /// </summary>
    public string Solve(IReadOnlyList<TaskExample> demonstrations, string queryInput)
    {
        var tables = Values.Aggregate(new[] { "" }, (prefixes, _) => [.. prefixes.SelectMany(prefix => Labels.Select(label => prefix + label))])
            .Where(table => table.Distinct().Count() > 1);
        var hypotheses =
            from feature in Enumerable.Range(0, queryInput.Length)
            from table in tables
            let rule = new Rule(feature, table)
            where demonstrations.All(demo => Answer(rule, demo.Input) == demo.Output)
            select (Answer(rule, queryInput), 0.0);
        return LatentPosterior.MostProbableAnswer(hypotheses, Name);
    }

    static string Answer(Rule rule, string input) => rule.LabelOfValue[Values.IndexOf(input[rule.Feature])].ToString();

    static string Describe(Rule rule) => $"f={rule.Feature} {Values}={rule.LabelOfValue}";

    static Rule DrawRule(SplitMix64 random, int features)
    {
        int feature = random.NextInt(features);
        while (true)
        {
            string table = string.Concat(Values.Select(_ => Labels[random.NextInt(Labels.Length)]));
            if (table.Distinct().Count() > 1) return new Rule(feature, table);
        }
    }

    static TaskExample Example(SplitMix64 random, Rule rule, int features)
    {
        string input = string.Concat(Enumerable.Range(0, features).Select(_ => Values[random.NextInt(Values.Length)]));
        return new TaskExample(input, Answer(rule, input));
    }
}
