using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using NUnit.Framework;

namespace DrICL.Tests.Kernels;

/// <summary>The fast RMSNorm, RoPE, SwiGLU and embedding kernels against their references, and the RMSNorm backward reference against finite differences.</summary>
public class ElementwiseKernelTests
{
    // Row counts and widths that cover single elements, SIMD tails, and jobs big enough to be split across threads.
    static readonly (int N, int C)[] RowShapes = [(1, 1), (3, 17), (5, 100), (64, 1024), (300, 257)];

    [Test]
    public void RmsNormForwardMatchesReference()
    {
        var rng = new Random(1);
        foreach (var (n, c) in RowShapes)
        {
            var x = RandomArray(rng, n * c, 3f);
            var w = RandomArray(rng, c);
            float[] y0 = new float[n * c], r0 = new float[n], y1 = new float[n * c], r1 = new float[n];
            RmsNorm.ForwardReference(x, w, y0, r0, n, c, 1e-5f);
            RmsNorm.Forward(x, w, y1, r1, n, c, 1e-5f);
            AssertClose(y0, y1, 1e-5, $"y [{n},{c}]");
            AssertClose(r0, r1, 1e-5, $"rstd [{n},{c}]");
        }
    }

    [Test]
    public void RmsNormBackwardMatchesReference()
    {
        var rng = new Random(2);
        foreach (var (n, c) in RowShapes)
        {
            var x = RandomArray(rng, n * c, 3f);
            var w = RandomArray(rng, c);
            var dy = RandomArray(rng, n * c);
            float[] y = new float[n * c], rstd = new float[n];
            RmsNorm.ForwardReference(x, w, y, rstd, n, c, 1e-5f);
            var dwStart = RandomArray(rng, c);
            float[] dx0 = RandomArray(rng, n * c), dw0 = (float[])dwStart.Clone(), dx1 = RandomArray(rng, n * c), dw1 = (float[])dwStart.Clone();
            RmsNorm.BackwardReference(dy, x, w, rstd, dx0, dw0, n, c);
            RmsNorm.Backward(dy, x, w, rstd, dx1, dw1, n, c);
            // dx is a difference of two terms of size rstd * dy * w (exactly cancelling when c = 1): measure against that.
            double terms = 0;
            for (int i = 0; i < n * c; i++) terms = Math.Max(terms, Math.Abs(dy[i] * w[i % c] * rstd[i / c]));
            AssertClose(dx0, dx1, 1e-5, $"dx [{n},{c}]", terms);
            AssertClose(dw0, dw1, 1e-5, $"dw [{n},{c}]");
        }
    }

    // L = sum(y * g) in double; central differences against the reference backward's dx and dw.
    [Test]
    public void RmsNormBackwardReferenceMatchesFiniteDifferences()
    {
        const int n = 2, c = 5;
        const float eps = 1e-5f;
        var rng = new Random(3);
        var x = RandomArray(rng, n * c, 2f);
        var w = RandomArray(rng, c);
        var g = RandomArray(rng, n * c);
        float[] y = new float[n * c], rstd = new float[n], dx = new float[n * c], dw = new float[c];
        RmsNorm.ForwardReference(x, w, y, rstd, n, c, eps);
        RmsNorm.BackwardReference(g, x, w, rstd, dx, dw, n, c);

        double Loss(double[] xs, double[] ws)
        {
            double loss = 0;
            for (int r = 0; r < n; r++)
            {
                double ss = 0;
                for (int i = 0; i < c; i++) ss += xs[r * c + i] * xs[r * c + i];
                double rs = 1 / Math.Sqrt(ss / c + eps);
                for (int i = 0; i < c; i++) loss += xs[r * c + i] * rs * ws[i] * g[r * c + i];
            }
            return loss;
        }
        double[] xd = Array.ConvertAll(x, v => (double)v), wd = Array.ConvertAll(w, v => (double)v);
        double Numeric(double[] p, int i)
        {
            const double h = 1e-4;
            double keep = p[i];
            p[i] = keep + h; double up = Loss(xd, wd);
            p[i] = keep - h; double down = Loss(xd, wd);
            p[i] = keep;
            return (up - down) / (2 * h);
        }
        for (int i = 0; i < n * c; i++)
            Assert.That(dx[i], Is.EqualTo(Numeric(xd, i)).Within(1e-5 * (1 + Math.Abs(dx[i]))), $"dx[{i}]");
        for (int i = 0; i < c; i++)
            Assert.That(dw[i], Is.EqualTo(Numeric(wd, i)).Within(1e-5 * (1 + Math.Abs(dw[i]))), $"dw[{i}]");
    }

    [TestCase(1, 1, 1, 2, 10000f, false)]
    [TestCase(2, 3, 4, 16, 10000f, false)]
    [TestCase(2, 5, 3, 7, 500000f, false)]
    [TestCase(1, 9, 2, 40, 1000000f, false)]
    [TestCase(2, 64, 4, 128, 10000f, false)]
    [TestCase(2, 17, 4, 128, 500000f, true)]
    public void RopeMatchesReferenceAndInverts(int b, int t, int h, int d, float theta, bool llama3)
    {
        var frequencies = RopeFrequencies.Create(theta, d, llama3 ? new Llama3RopeScaling(8, 1, 4, 8192) : null);
        var rng = new Random(b * 1000 + t * 100 + d);
        var positions = new int[b * t];
        for (int i = 0; i < positions.Length; i++) positions[i] = rng.Next(0, 3000);
        positions[0] = 0;
        var x = RandomArray(rng, b * t * h * d);
        foreach (bool inverse in new[] { false, true })
        {
            float[] expected = (float[])x.Clone(), actual = (float[])x.Clone();
            Rope.Reference(expected, positions, b, t, h, d, frequencies, inverse);
            Rope.Apply(actual, positions, b, t, h, d, frequencies, inverse);
            AssertClose(expected, actual, 1e-6, $"rope inverse={inverse}");
        }
        var roundTrip = (float[])x.Clone();
        Rope.Apply(roundTrip, positions, b, t, h, d, frequencies, inverse: false);
        Rope.Apply(roundTrip, positions, b, t, h, d, frequencies, inverse: true);
        AssertClose(x, roundTrip, 1e-5, "rope then inverse rope");
    }

    // Larger positions than any earlier call grow the cached table; negative positions bypass it.
    [Test]
    public void RopeHandlesGrowingAndNegativePositions()
    {
        var rng = new Random(4);
        var frequencies = RopeFrequencies.Create(10000f, 32);
        foreach (var positions in new[] { new[] { 0, 1, 2 }, new[] { 20000, 5, 19999 }, new[] { -3, 1, -700 } })
        {
            var x = RandomArray(rng, 3 * 2 * 32);
            float[] expected = (float[])x.Clone(), actual = (float[])x.Clone();
            Rope.Reference(expected, positions, 1, 3, 2, 32, frequencies, false);
            Rope.Apply(actual, positions, 1, 3, 2, 32, frequencies, false);
            AssertClose(expected, actual, 1e-6, $"positions {string.Join(",", positions)}");
        }
    }

    [TestCase(1)]
    [TestCase(17)]
    [TestCase(5000)]
    [TestCase(70_000)]
    public void SwiGluMatchesReference(int n)
    {
        var rng = new Random(n);
        var gate = RandomArray(rng, n, 8f);
        var up = RandomArray(rng, n, 2f);
        var dh = RandomArray(rng, n);
        float[] h0 = new float[n], h1 = new float[n];
        SwiGlu.ForwardReference(gate, up, h0);
        SwiGlu.Forward(gate, up, h1);
        AssertClose(h0, h1, 1e-5, "h");
        float[] dg0 = new float[n], du0 = new float[n], dg1 = new float[n], du1 = new float[n];
        SwiGlu.BackwardReference(dh, gate, up, dg0, du0);
        SwiGlu.Backward(dh, gate, up, dg1, du1);
        AssertClose(dg0, dg1, 1e-5, "dgate");
        AssertClose(du0, du1, 1e-5, "dup");
    }

    // Element by element, not against the largest value: gates from -100 to 100 (sigmoid's two branches, and
    // exp(-|g|) flushing to 0 past |g| = 87, where h is below 1e-35 anyway), the extremes, zeros and NaN, each
    // within a few float ulps.
    [Test]
    public void SwiGluForwardIsAccurateAcrossTheGateRange()
    {
        var gates = Enumerable.Range(-20_000, 40_001).Select(i => i / 200f)
            .Concat([-1e30f, -1000f, -88f, -87.5f, 87.5f, 88f, 1000f, 1e30f, 0f, -0f, float.NaN]).ToArray();
        var rng = new Random(3);
        var up = gates.Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        float[] expected = new float[gates.Length], actual = new float[gates.Length];
        SwiGlu.ForwardReference(gates, up, expected);
        SwiGlu.Forward(gates, up, actual);
        for (int i = 0; i < gates.Length; i++)
        {
            if (float.IsNaN(expected[i])) Assert.That(actual[i], Is.NaN, $"gate {gates[i]}");
            else Assert.That(actual[i], Is.EqualTo(expected[i]).Within(4e-7 * Math.Abs(expected[i]) + 1e-35), $"gate {gates[i]}, up {up[i]}");
        }
    }

    [Test]
    public void SwiGluForwardSerialRefusesInputsShorterThanItsOutput()
    {
        var h = new float[32];
        Assert.Throws<ArgumentException>(() => SwiGlu.ForwardSerial(new float[32], new float[31], h));
        Assert.Throws<ArgumentException>(() => SwiGlu.ForwardSerial(new float[16], new float[32], h));
    }

    // Many repeated ids, so the backward's scatter-add collides whenever it could race.
    [TestCase(1, 1, 1)]
    [TestCase(7, 5, 33)]
    [TestCase(50, 3, 256)]
    [TestCase(300, 20, 1000)]
    public void EmbeddingMatchesReference(int vocab, int c, int tokens)
    {
        var rng = new Random(vocab + c + tokens);
        var table = RandomArray(rng, vocab * c);
        var ids = new int[tokens];
        for (int i = 0; i < tokens; i++) ids[i] = rng.Next(vocab);
        float[] y0 = new float[tokens * c], y1 = new float[tokens * c];
        Embedding.ForwardReference(table, ids, y0, vocab, c);
        Embedding.Forward(table, ids, y1, vocab, c);
        Assert.That(y1, Is.EqualTo(y0));

        var dy = RandomArray(rng, tokens * c);
        float[] d0 = RandomArray(rng, vocab * c), d1 = (float[])d0.Clone();
        Embedding.BackwardReference(dy, ids, d0, vocab, c);
        Embedding.Backward(dy, ids, d1, vocab, c);
        Assert.That(d1, Is.EqualTo(d0), "same additions in the same order per element");
    }

    [Test]
    public void EmbeddingBackwardWideRowsSplitAcrossThreads()
    {
        const int vocab = 10, c = 1000, tokens = 64;
        var rng = new Random(5);
        var ids = new int[tokens];
        for (int i = 0; i < tokens; i++) ids[i] = rng.Next(vocab);
        var dy = RandomArray(rng, tokens * c);
        float[] d0 = new float[vocab * c], d1 = new float[vocab * c];
        Embedding.BackwardReference(dy, ids, d0, vocab, c);
        Embedding.Backward(dy, ids, d1, vocab, c);
        Assert.That(d1, Is.EqualTo(d0));
    }

    [Test]
    public void EmbeddingRejectsOutOfRangeIdsBeforeWriting()
    {
        var dtable = new float[4 * 2];
        Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Backward(new float[] { 1, 1, 1, 1 }, new[] { 1, 4 }, dtable, 4, 2));
        Assert.That(dtable, Is.All.EqualTo(0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Forward(new float[8], new[] { -1 }, new float[2], 4, 2));
    }

    static float[] RandomArray(Random rng, int n, float scale = 1f)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return x;
    }

    // Max error relative to the largest expected value (or to minScale, where the values come from cancellation).
    static void AssertClose(float[] expected, float[] actual, double tolerance, string what, double minScale = 1e-30)
    {
        double scale = minScale, worst = 0;
        foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.That(worst / scale, Is.LessThanOrEqualTo(tolerance).And.Not.NaN, $"{what}: max error {worst} at scale {scale}");
    }
}
