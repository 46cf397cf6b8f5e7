using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Synthetic;

/// <summary>
/// Recomputes a synthetic example's answer from its episode's latent description alone, independently of the family
/// code: if a family wrote an answer that its latent does not imply, or described its latent wrongly, these disagree.
/// </summary>
static class LatentOracle
{
    /// <summary>The answer the latent implies, or null where the family's noise may decide it (linear-sign near the boundary).</summary>
    public static string? Answer(string family, string latent, string input, int difficulty) => family switch
    {
        "linear-sign" => LinearSign(latent, input, noise: difficulty == 0 ? 0 : 2),
        "prototype" => Prototype(latent, input),
        "pair-metric" => PairMetric(latent, input),
        "feature-rule" => FeatureRule(latent, input),
        "label-map" => Fields(latent)[input],
        "cluster" => Fields(latent)[Lexicon.Categories.Single(category => category.Words.Contains(input)).Name],
        "cipher" => Cipher(latent, input),
        "extract" => Extract(latent, input),
        _ => throw new ArgumentException($"no oracle for family {family}"),
    };

    /// <summary>"a=1 b=2" as a map.</summary>
    static Dictionary<string, string> Fields(string latent) =>
        latent.Split(' ').Select(field => field.Split('=')).ToDictionary(pair => pair[0], pair => pair[1]);

    static int[] Numbers(string text) => [.. text.Split(',').Select(int.Parse)];

    static int[] Digits(string text) => [.. text.Select(c => c - '0')];

    static string? LinearSign(string latent, string input, int noise)
    {
        var w = Numbers(Fields(latent)["w"]);
        var x = Numbers(input);
        Assert.That(x, Has.Length.EqualTo(w.Length).And.Some.Not.Zero.And.All.InRange(-3, 3), $"input {input}");
        int dot = w.Zip(x, (a, b) => a * b).Sum();
        return Math.Abs(dot) <= noise ? null : dot > 0 ? "+" : "-";
    }

    static string Prototype(string latent, string input)
    {
        var near = Fields(latent).Where(pair => Digits(pair.Value).Zip(Digits(input), (p, x) => Math.Abs(p - x)).Max() <= 1).ToList();
        Assert.That(near, Has.Count.EqualTo(1), $"input {input} is within 1 of exactly one prototype of {latent}");
        return near[0].Key;
    }

    static string PairMetric(string latent, string input)
    {
        var fields = Fields(latent);
        var w = Numbers(fields["w"]);
        var pair = input.Split(' ');
        int distance = 0;
        for (int i = 0; i < w.Length; i++) distance += w[i] * Math.Abs(pair[0][i] - pair[1][i]);
        return distance <= int.Parse(fields["t"]) ? "y" : "n";
    }

    static string FeatureRule(string latent, string input)
    {
        var fields = Fields(latent);
        return fields["xyz"]["xyz".IndexOf(input[int.Parse(fields["f"])])].ToString();
    }

    static string Cipher(string latent, string input)
    {
        var fields = Fields(latent);
        return fields.TryGetValue("shift", out var shift)
            ? string.Concat(input.Select(c => (char)('a' + (c - 'a' + int.Parse(shift)) % 26)))
            : string.Concat(input.Select(c => fields["sub"][c - 'a']));
    }

    static string Extract(string latent, string input)
    {
        var topics = Fields(latent)["topics"].Split(',');
        var aboutTopic = input.Split(". ").Where(sentence => topics.Contains(sentence.Split(' ')[0])).ToList();
        Assert.That(aboutTopic, Has.Count.EqualTo(1), $"exactly one sentence of \"{input}\" is about {latent}");
        return aboutTopic[0];
    }
}
