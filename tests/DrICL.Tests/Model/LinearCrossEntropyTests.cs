using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Model.Autograd;
using NUnit.Framework;

namespace DrICL.Tests.Model;

/// <summary>
/// The chunked lm_head cross-entropy (Ops.LinearCrossEntropy) against the materialized computation in
/// double precision on the host: logits = x @ wᵀ, NLLs, and the weighted gradients of x and w, for chunk
/// sizes that split the rows in every way (1, a non-divisor, exactly N, more than N, the default).
/// </summary>
public class LinearCrossEntropyTests
{
    const int N = 13, C = 24, V = 37;
    const int Ignore = CrossEntropy.IgnoreIndex;
    static readonly IDevice Device = CpuDevice.Instance;

    static float[] Random(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => scale * (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>
    /// Labels with some -100s and weights with some zeros, some rows having a label and weight 0; every chunk of
    /// 4 starts with a zero weight and every chunk of 5 with an ignored label, so a chunk is not judged by its first row.
    /// </summary>
    static (int[] Labels, float[] Weights) Targets(int seed)
    {
        var rng = new Random(seed);
        var labels = Enumerable.Range(0, N).Select(t => t % 5 == 0 ? Ignore : rng.Next(V)).ToArray();
        var weights = Enumerable.Range(0, N).Select(t => t % 4 == 0 ? 0f : (float)rng.NextDouble() + 0.1f).ToArray();
        return (labels, weights);
    }

    /// <summary>The materialized reference: NLLs [N], dlogits-weighted dx [N,C] and dw [V,C], in double.</summary>
    static (double[] Nll, double[] Dx, double[] Dw) Reference(float[] x, float[] w, int[] labels, float[] weights)
    {
        int n = labels.Length;
        var nll = new double[n];
        var dx = new double[n * C];
        var dw = new double[V * C];
        var z = new double[V];
        for (int t = 0; t < n; t++)
        {
            if (labels[t] == Ignore) continue;
            for (int v = 0; v < V; v++)
            {
                double s = 0;
                for (int c = 0; c < C; c++) s += (double)x[t * C + c] * w[v * C + c];
                z[v] = s;
            }
            double max = z.Max(), sum = z.Sum(zv => Math.Exp(zv - max)), lse = max + Math.Log(sum);
            nll[t] = lse - z[labels[t]];
            for (int v = 0; v < V; v++)
            {
                double g = weights[t] * (Math.Exp(z[v] - lse) - (v == labels[t] ? 1 : 0));
                for (int c = 0; c < C; c++)
                {
                    dx[t * C + c] += g * w[v * C + c];
                    dw[v * C + c] += g * x[t * C + c];
                }
            }
        }
        return (nll, dx, dw);
    }

    static void AssertClose(float[] actual, double[] expected, double tol, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tol * (1 + Math.Abs(expected[i]))), $"{what}[{i}]");
    }

    [TestCase(1)]
    [TestCase(5)]
    [TestCase(N)]
    [TestCase(N + 8)]
    [TestCase(null)]
    public void EqualsTheMaterializedLogitsForEveryChunking(int? chunkRows)
    {
        float[] xs = Random(N * C, 1), ws = Random(V * C, 2);
        var (labels, weights) = Targets(3);
        var x = new Var(Device.Upload(xs, N, C), requiresGrad: true);
        var w = new Var(Device.Upload(ws, V, C), requiresGrad: true);
        var tape = new Tape(Device);
        var losses = Ops.LinearCrossEntropy(tape, x, w, labels, chunkRows);

        var (nll, dx, dw) = Reference(xs, ws, labels, weights);
        AssertClose(losses.Nll, nll, 1e-5, "nll");
        losses.Weights = weights;
        tape.Backward();
        AssertClose(x.Grad!.ToArray(), dx, 1e-5, "dx");
        AssertClose(w.Grad!.ToArray(), dw, 1e-5, "dw");
    }

    [TestCase(1)]
    [TestCase(4)]
    [TestCase(null)]
    public void TiedWeightsAccumulateEveryGradient(int? chunkRows)
    {
        // w is both the embedding that makes x and the lm_head, and x feeds two losses: the second loss's
        // backward runs first and takes x's gradient fresh, the first adds to it, then the embedding
        // backward scatters dx into the same w gradient that both losses accumulated into.
        float[] ws = Random(V * C, 4);
        var ids = Enumerable.Range(0, N).Select(t => (t * 11) % V).ToArray();
        var (labels1, weights1) = Targets(5);
        var (labels2, weights2) = Targets(6);
        var w = new Var(Device.Upload(ws, V, C), requiresGrad: true);
        var tape = new Tape(Device);
        var x = Ops.Embedding(tape, w, ids);
        var first = Ops.LinearCrossEntropy(tape, x, w, labels1, chunkRows);
        var second = Ops.LinearCrossEntropy(tape, x, w, labels2, chunkRows);
        first.Weights = weights1;
        second.Weights = weights2;
        tape.Backward();

        var xs = x.Value.ToArray();
        var (_, dx1, dw1) = Reference(xs, ws, labels1, weights1);
        var (_, dx2, dw2) = Reference(xs, ws, labels2, weights2);
        var dx = dx1.Zip(dx2, (a, b) => a + b).ToArray();
        var dw = dw1.Zip(dw2, (a, b) => a + b).ToArray();
        for (int t = 0; t < N; t++)
            for (int c = 0; c < C; c++) dw[ids[t] * C + c] += dx[t * C + c];
        AssertClose(x.Grad!.ToArray(), dx, 1e-5, "dx");
        AssertClose(w.Grad!.ToArray(), dw, 1e-5, "dw");
    }

    [Test]
    public void IgnoredAndZeroWeightChunksGiveZeros()
    {
        // Chunks of 4: rows 0-3 have no label, rows 4-7 weight 0, rows 8-11 a loss, row 12 no label.
        float[] xs = Random(N * C, 7), ws = Random(V * C, 8);
        var labels = Enumerable.Range(0, N).Select(t => t is < 4 or 12 ? Ignore : (t * 5) % V).ToArray();
        var weights = Enumerable.Range(0, N).Select(t => t is >= 8 and < 12 ? 0.25f : t < 4 ? 1f : 0f).ToArray();
        var x = new Var(Device.Upload(xs, N, C), requiresGrad: true);
        var w = new Var(Device.Upload(ws, V, C), requiresGrad: true);
        var tape = new Tape(Device);
        var losses = Ops.LinearCrossEntropy(tape, x, w, labels, chunkRows: 4);
        losses.Weights = weights;
        tape.Backward();

        var (nll, dx, dw) = Reference(xs, ws, labels, weights);
        Assert.That(losses.Nll[..4], Is.All.EqualTo(0f));
        Assert.That(losses.Nll[12], Is.EqualTo(0f));
        AssertClose(losses.Nll, nll, 1e-5, "nll");   // the zero-weight rows still report their loss
        var gx = x.Grad!.ToArray();
        Assert.That(gx[..(8 * C)], Is.All.EqualTo(0f));
        Assert.That(gx[(12 * C)..], Is.All.EqualTo(0f));
        AssertClose(gx, dx, 1e-5, "dx");
        AssertClose(w.Grad!.ToArray(), dw, 1e-5, "dw");

        // All weights zero: no chunk runs, and both gradients exist and are zero.
        var x0 = new Var(Device.Upload(xs, N, C), requiresGrad: true);
        var w0 = new Var(Device.Upload(ws, V, C), requiresGrad: true);
        var tape0 = new Tape(Device);
        var none = Ops.LinearCrossEntropy(tape0, x0, w0, labels, chunkRows: 4);
        none.Weights = new float[N];
        tape0.Backward();
        Assert.That(x0.Grad!.ToArray(), Is.All.EqualTo(0f));
        Assert.That(w0.Grad!.ToArray(), Is.All.EqualTo(0f));
    }

    [Test]
    public void DefaultChunkBoundsTheScratchAndRejectsBadArguments()
    {
        Assert.That(Ops.DefaultChunkRows(2048, 32000), Is.EqualTo((1 << 24) / 32000));
        Assert.That(Ops.DefaultChunkRows(100, 32000), Is.EqualTo(100));
        Assert.That(Ops.DefaultChunkRows(100, 1 << 25), Is.EqualTo(1));

        var x = new Var(Device.Upload(Random(N * C, 9), N, C), requiresGrad: true);
        var w = new Var(Device.Upload(Random(V * C, 10), V, C), requiresGrad: true);
        var tape = new Tape(Device);
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.LinearCrossEntropy(tape, x, w, new int[N], chunkRows: 0));
        Assert.Throws<ArgumentException>(() => Ops.LinearCrossEntropy(tape, x, w, new int[N - 1]));
        Ops.LinearCrossEntropy(tape, x, w, new int[N]);
        Assert.Throws<InvalidOperationException>(tape.Backward);   // weights never set
    }

    [Test]
    public void CrossEntropyBackwardMayRunInPlace()
    {
        const int n = 5, v = 1003;
        var logits = Device.Upload(Random(n * v, 11, 4f), n, v);
        int[] labels = [3, Ignore, 1002, 0, 77];
        var (nll, lse) = (Device.Zeros(n), Device.Zeros(n));
        Device.CrossEntropy(logits, labels, nll, lse);
        var weights = Device.Upload([0.5f, 1f, 2f, 0f, 1f], n);
        var apart = Device.Zeros(n, v);
        Device.CrossEntropyBackward(logits, labels, lse, weights, apart);
        Device.CrossEntropyBackward(logits, labels, lse, weights, logits);
        Assert.That(logits.ToArray(), Is.EqualTo(apart.ToArray()));
    }
}
