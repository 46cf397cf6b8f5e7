using DrICL.Model;
using DrICL.Model.Inference;
using NUnit.Framework;

namespace DrICL.Tests.Model.Inference;

public class SamplerTests
{
    static float[] Logits(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
    }

    // The truncated softmax written out plainly: sort everything, keep top-k, then the top-p nucleus.
    static double[] Expected(float[] logits, SamplingOptions s)
    {
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        int keep = s.TopK > 0 ? Math.Min(s.TopK, order.Length) : order.Length;
        var p = order.Take(keep).Select(i => Math.Exp((logits[i] - logits[order[0]]) / s.Temperature)).ToArray();
        double sum = p.Sum(), cumulative = 0;
        int nucleus = keep;
        for (int i = 0; i < keep; i++)
            if ((cumulative += p[i] / sum) >= s.TopP) { nucleus = i + 1; break; }
        double kept = p.Take(nucleus).Sum();
        var result = new double[logits.Length];
        for (int i = 0; i < nucleus; i++) result[order[i]] = p[i] / kept;
        return result;
    }

    static readonly SamplingOptions[] Cases =
    [
        new(Temperature: 1f, Seed: 1),
        new(Temperature: 0.7f, TopK: 8, Seed: 2),
        new(Temperature: 1.3f, TopP: 0.8f, Seed: 3),
        new(Temperature: 0.9f, TopK: 20, TopP: 0.9f, Seed: 4),
    ];

    [TestCaseSource(nameof(Cases))]
    public void DrawsFollowTheTruncatedSoftmax(SamplingOptions options)
    {
        var logits = Logits(60, 11);
        var expected = Expected(logits, options);
        var sampler = new Sampler(options, logits.Length);
        const int draws = 20000;
        var counts = new int[logits.Length];
        for (int i = 0; i < draws; i++) counts[sampler.Sample(logits)]++;
        double chi2 = 0;
        int cells = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (expected[i] == 0)
            {
                Assert.That(counts[i], Is.Zero, $"token {i} is outside the truncation but was drawn");
                continue;
            }
            double e = draws * expected[i];
            chi2 += (counts[i] - e) * (counts[i] - e) / e;
            cells++;
        }
        // Chi-square with cells - 1 degrees of freedom: mean df, sd sqrt(2 df); 6 sd above the mean is far past p = 0.001.
        int df = cells - 1;
        Assert.That(chi2, Is.LessThan(df + 6 * Math.Sqrt(2 * df) + 10), $"chi-square {chi2:F1} over {cells} tokens");
    }

    // Truncation over whole vocabularies: flat logits (nearly every token survives the top-p floor), peaked ones,
    // and logits on a coarse grid (ties everywhere, broken by the lower id). The candidates must be exactly the
    // expected ranking's first m tokens, m the expected nucleus size, or one off it where the cumulative
    // probability crosses top-p within rounding (the sums are taken in another order).
    static readonly object[] Vocabularies =
    [
        new object[] { "flat", new SamplingOptions(Temperature: 1f, TopP: 0.95f) },
        new object[] { "flat", new SamplingOptions(Temperature: 0.8f, TopK: 100, TopP: 0.9f) },
        new object[] { "flat", new SamplingOptions(Temperature: 1.5f, TopK: 5000) },
        new object[] { "peaked", new SamplingOptions(Temperature: 0.7f, TopP: 0.95f) },
        new object[] { "peaked", new SamplingOptions(Temperature: 1f, TopK: 40, TopP: 0.5f) },
        new object[] { "grid", new SamplingOptions(Temperature: 1f, TopP: 0.6f) },
        new object[] { "grid", new SamplingOptions(Temperature: 1f, TopK: 777, TopP: 0.99f) },
    ];

    [TestCaseSource(nameof(Vocabularies))]
    public void TruncationKeepsTheExpectedTokens(string kind, SamplingOptions options)
    {
        var rng = new Random(kind.Length * 31 + options.TopK);
        var logits = Enumerable.Range(0, 32000).Select(_ => kind switch
        {
            "flat" => (float)(rng.NextDouble() * 0.02 - 0.01),
            "peaked" => (float)(-Math.Log(-Math.Log(rng.NextDouble())) * 1.5),  // Gumbel: a long tail of likelier tokens
            _ => MathF.Round((float)(rng.NextDouble() * 4 - 2) * 2) / 2,
        }).ToArray();
        var expected = Expected(logits, options);
        var ranking = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        int nucleus = expected.Count(p => p > 0);
        var sampler = new Sampler(options, logits.Length);
        int count = sampler.Truncate(logits);
        var actual = Enumerable.Range(0, count).Select(sampler.CandidateId).Order().ToArray();
        Assert.That(Math.Abs(count - nucleus), Is.LessThanOrEqualTo(1), $"{count} candidates, expected {nucleus}");
        Assert.That(actual, Is.EqualTo(ranking.Take(count).Order().ToArray()), "the candidates are not the best-ranked tokens");
        Assert.That(nucleus, Is.GreaterThan(1), "a nucleus of one token tests nothing");
        TestContext.Out.WriteLine($"{kind}: {nucleus} of {logits.Length} tokens kept");
    }

    [Test]
    public void ASeedFixesTheDrawsAndTopKOneIsGreedy()
    {
        var logits = Logits(1000, 5);
        var options = new SamplingOptions(Temperature: 1f, TopK: 50, TopP: 0.9f, Seed: 42);
        int[] Draw(SamplingOptions o)
        {
            var s = new Sampler(o, logits.Length);
            return Enumerable.Range(0, 50).Select(_ => s.Sample(logits)).ToArray();
        }
        var first = Draw(options);
        Assert.That(Draw(options), Is.EqualTo(first));
        Assert.That(Draw(options with { Seed = 43 }), Is.Not.EqualTo(first));
        Assert.That(Draw(new SamplingOptions(Temperature: 2f, TopK: 1, Seed: 9)), Is.All.EqualTo(Generation.ArgMax(logits)));
        Assert.That(Draw(new SamplingOptions()), Is.All.EqualTo(Generation.ArgMax(logits)));
    }

    [Test]
    public void RejectsOptionsOutsideTheirRanges()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new SamplingOptions(Temperature: -1f), 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new SamplingOptions(TopP: 0f), 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new SamplingOptions(TopP: 1.5f), 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new SamplingOptions(TopK: -2), 10));
    }
}
