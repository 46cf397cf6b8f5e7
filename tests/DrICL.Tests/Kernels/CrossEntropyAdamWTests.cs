using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using NUnit.Framework;

namespace DrICL.Tests.Kernels;

/// <summary>The fast cross-entropy and AdamW kernels against their references, plus a gradient check.</summary>
[TestFixture]
public class CrossEntropyAdamWTests
{
    // 37 rows of 1003 logits: a vector tail in every row, and more than one parallel work item.
    const int N = 37, V = 1003;

    [Test]
    public void FastCrossEntropyMatchesReference()
    {
        var (logits, labels, weights) = Problem(N, V, seed: 1);
        var (nllRef, lseRef, dRef) = (new float[N], new float[N], new float[N * V]);
        var (nll, lse, d) = (new float[N], new float[N], new float[N * V]);
        CrossEntropy.ForwardReference(logits, labels, nllRef, lseRef, N, V);
        CrossEntropy.BackwardReference(logits, labels, lseRef, weights, dRef, N, V);
        CrossEntropy.Forward(logits, labels, nll, lse, N, V);
        CrossEntropy.Backward(logits, labels, lse, weights, d, N, V);
        Assert.That(nll, Is.EqualTo(nllRef).Within(1e-5f));
        Assert.That(lse, Is.EqualTo(lseRef).Within(1e-5f));
        Assert.That(d, Is.EqualTo(dRef).Within(1e-6f));
    }

    [Test]
    public void FusedEqualsForwardThenBackward()
    {
        var (logits, labels, weights) = Problem(N, V, seed: 2);
        var (nll, lse, d) = (new float[N], new float[N], new float[N * V]);
        CrossEntropy.Forward(logits, labels, nll, lse, N, V);
        CrossEntropy.Backward(logits, labels, lse, weights, d, N, V);
        var (fNll, fLse, fD) = (new float[N], new float[N], new float[N * V]);
        CrossEntropy.ForwardBackward(logits, labels, weights, fNll, fLse, fD, N, V);
        Assert.That(fNll, Is.EqualTo(nll).Within(1e-6f));
        Assert.That(fLse, Is.EqualTo(lse).Within(1e-6f));
        Assert.That(fD, Is.EqualTo(d).Within(1e-6f));
    }

    [Test]
    public void FusedInPlaceEqualsOutOfPlace()
    {
        var (logits, labels, weights) = Problem(N, V, seed: 3);
        var (nll, lse, d) = (new float[N], new float[N], new float[N * V]);
        CrossEntropy.ForwardBackward(logits, labels, weights, nll, lse, d, N, V);
        var buffer = (float[])logits.Clone();
        var (iNll, iLse) = (new float[N], new float[N]);
        CrossEntropy.ForwardBackward(buffer, labels, weights, iNll, iLse, buffer, N, V);
        Assert.That(iNll, Is.EqualTo(nll));
        Assert.That(iLse, Is.EqualTo(lse));
        Assert.That(buffer, Is.EqualTo(d));
    }

    [Test]
    public void IgnoredRowsHaveNoLossAndNoGradient()
    {
        var (logits, labels, weights) = Problem(N, V, seed: 4);
        var (nll, lse, d) = (new float[N], new float[N], new float[N * V]);
        Array.Fill(d, float.NaN);
        CrossEntropy.ForwardBackward(logits, labels, weights, nll, lse, d, N, V);
        var ignored = Enumerable.Range(0, N).Where(t => labels[t] == CrossEntropy.IgnoreIndex).ToArray();
        Assert.That(ignored, Is.Not.Empty);
        foreach (int t in ignored)
        {
            Assert.That(nll[t], Is.Zero, $"nll[{t}]");
            Assert.That(d.AsSpan(t * V, V).ToArray(), Is.All.Zero, $"dlogits row {t}");
            Assert.That(float.IsFinite(lse[t]), $"lse[{t}]");
        }
    }

    [Test]
    public void LabelOutsideVocabularyThrows()
    {
        var (logits, _, weights) = Problem(2, 4, seed: 6);
        int[] labels = [1, 4];
        var (nll, lse, d) = (new float[2], new float[2], new float[8]);
        Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.Forward(logits, labels, nll, lse, 2, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.Backward(logits, labels, lse, weights, d, 2, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.ForwardBackward(logits, labels, weights, nll, lse, d, 2, 4));
    }

    // d(sum w nll)/dlogits from the fused kernel against central differences of the reference forward.
    [Test]
    public void GradientMatchesFiniteDifferences()
    {
        const int n = 3, v = 5;
        var (logits, labels, weights) = Problem(n, v, seed: 5);
        labels = [2, CrossEntropy.IgnoreIndex, 4];
        var (nll, lse, d) = (new float[n], new float[n], new float[n * v]);
        CrossEntropy.ForwardBackward(logits, labels, weights, nll, lse, d, n, v);

        double Loss()
        {
            var (l, s) = (new float[n], new float[n]);
            CrossEntropy.ForwardReference(logits, labels, l, s, n, v);
            double sum = 0;
            for (int t = 0; t < n; t++) sum += (double)weights[t] * l[t];
            return sum;
        }

        const float eps = 1e-2f;
        for (int i = 0; i < logits.Length; i++)
        {
            float keep = logits[i];
            logits[i] = keep + eps; double up = Loss();
            logits[i] = keep - eps; double down = Loss();
            logits[i] = keep;
            Assert.That(d[i], Is.EqualTo((up - down) / (2 * eps)).Within(1e-3), $"dlogits[{i}]");
        }
    }

    // Small (one serial range, all scalar tail) and large (parallel chunks with a vector tail).
    [TestCase(13)]
    [TestCase(3 * (1 << 15) + 5)]
    public void AdamWStepMatchesReferenceExactly(int n)
    {
        var rng = new Random(n);
        float[] Make() => [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        var p = Make();
        var (pRef, m, v, mRef, vRef) = ((float[])p.Clone(), new float[n], new float[n], new float[n], new float[n]);
        var cfg = new AdamWConfig(Lr: 1e-3f, Beta1: 0.9f, Beta2: 0.95f, Eps: 1e-8f, WeightDecay: 0.1f);
        for (int step = 1; step <= 3; step++)
        {
            var g = Make();
            AdamW.Reference(pRef, g, mRef, vRef, cfg, step, gradScale: 0.7f);
            AdamW.Step(p, g, m, v, cfg, step, gradScale: 0.7f);
        }
        Assert.That(p, Is.EqualTo(pRef));
        Assert.That(m, Is.EqualTo(mRef));
        Assert.That(v, Is.EqualTo(vRef));
    }

    [TestCase(13)]
    [TestCase(100_003)]
    public void SumOfSquaresMatchesReference(int n)
    {
        var rng = new Random(n);
        float[] g = [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        double expected = AdamW.SumOfSquaresReference(g);
        Assert.That(AdamW.SumOfSquares(g), Is.EqualTo(expected).Within(1e-4).Percent);
    }

    // Random logits with a spread like a trained model's, about one label in five ignored, weights in [0, 2).
    static (float[] Logits, int[] Labels, float[] Weights) Problem(int n, int v, int seed)
    {
        var rng = new Random(seed);
        float[] logits = [.. Enumerable.Range(0, n * v).Select(_ => (float)(rng.NextDouble() * 16 - 8))];
        int[] labels = [.. Enumerable.Range(0, n).Select(t => t % 5 == 1 ? CrossEntropy.IgnoreIndex : rng.Next(v))];
        float[] weights = [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2))];
        return (logits, labels, weights);
    }
}
