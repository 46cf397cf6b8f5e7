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
