using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using NUnit.Framework;

namespace DrICL.Tests.Kernels;

/// <summary>The fast GEMM against the double-precision reference on odd shapes, every transpose/accumulate combination and every micro-kernel.</summary>
public class GemmTests
{
    const float Sentinel = 12345f;

    // Shapes chosen to hit: single elements, sizes below and just above every register and cache block
    // (MR 4/6/8, NR 4/16/48, KC 256, NC 768), the skinny path (m below MR), and, from 2^20 multiply-adds
    // up, the threaded paths: row panels over threads, column parts for few rows, skinny column ranges.
    [TestCase(1, 1, 1)]
    [TestCase(3, 17, 33)]
    [TestCase(17, 3, 65)]
    [TestCase(33, 65, 100)]
    [TestCase(100, 33, 17)]
    [TestCase(65, 100, 3)]
    [TestCase(5, 129, 257)]
    [TestCase(8, 48, 256)]
    [TestCase(9, 49, 257)]
    [TestCase(130, 97, 513)]
    [TestCase(40, 800, 40)]
    [TestCase(16, 900, 300)]
    [TestCase(3, 700, 600)]
    public void MatchesReference(int m, int n, int k)
    {
        var rng = new Random(m * 1_000_003 + n * 1009 + k);
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                foreach (bool accumulate in new[] { false, true })
                {
                    var a = RandomArray(rng, m * k);
                    var b = RandomArray(rng, k * n);
                    var c0 = RandomArray(rng, m * n);
                    var expected = (float[])c0.Clone();
                    Gemm.Reference(a, b, expected, m, n, k, transA, transB, accumulate);
                    foreach (var kernel in Enum.GetValues<MicroKernel>())
                        foreach (int threads in new[] { 1, 3 })
                        {
                            var actual = WithSentinel(c0);
                            Gemm.Multiply(a, b, actual, m, n, k, transA, transB, accumulate, kernel, threads);
                            AssertClose(expected, actual, $"{m}x{n}x{k} transA={transA} transB={transB} accumulate={accumulate} {kernel} threads={threads}");
                        }
                    var viaPublic = WithSentinel(c0);
                    Gemm.Multiply(a, b, viaPublic, m, n, k, transA, transB, accumulate);
                    AssertClose(expected, viaPublic, $"{m}x{n}x{k} transA={transA} transB={transB} accumulate={accumulate} default kernel");
                }
    }

    // The bf16 path widens B while packing: the same shapes' edges (partial NR panels, K tails below 8, KC slices).
    [TestCase(1, 1, 1)]
    [TestCase(3, 17, 33)]
    [TestCase(17, 3, 65)]
    [TestCase(9, 49, 257)]
    [TestCase(130, 97, 513)]
    [TestCase(16, 900, 300)]
    public void Bf16MatchesReference(int m, int n, int k)
    {
        var rng = new Random(m * 7919 + n * 31 + k);
        var a = RandomArray(rng, m * k);
        var b = new ushort[n * k];
        Bf16.FromFloats(RandomArray(rng, n * k), b);
        var expected = new float[m * n];
        Gemm.Bf16Reference(a, b, expected, m, n, k);
        foreach (var kernel in Enum.GetValues<MicroKernel>())
            foreach (int threads in new[] { 1, 3 })
            {
                var actual = WithSentinel(new float[m * n]);
                Gemm.MultiplyBf16(a, b, actual, m, n, k, kernel, threads);
                AssertClose(expected, actual, $"bf16 {m}x{n}x{k} {kernel} threads={threads}");
            }
    }

    [Test]
    public void EmptyDepthClearsOrKeepsC()
    {
        var c = new float[] { 1, 2, 3, 4, 5, 6 };
        Gemm.Multiply([], [], c, 2, 3, 0, false, false, accumulate: true);
        Assert.That(c, Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        Gemm.Multiply([], [], c, 2, 3, 0, false, false, accumulate: false);
        Assert.That(c, Is.All.EqualTo(0f));
    }

    [Test]
    public void ShortBuffersThrow()
    {
        var a = new float[6];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, new float[5], new float[4], 2, 2, 3, false, false, false));
    }

    [Test]
    public void CpuDeviceMatMulUsesTheFastKernel()
    {
        var rng = new Random(7);
        var dev = CpuDevice.Instance;
        var x = dev.Upload(RandomArray(rng, 37 * 50), 37, 50);   // [M,K]
        var w = dev.Upload(RandomArray(rng, 70 * 50), 70, 50);   // [N,K], as a Linear weight
        var y = dev.Zeros(37, 70);
        dev.MatMul(x, w, y, transA: false, transB: true, accumulate: false);
        var expected = new float[37 * 70];
        Gemm.Reference(x.Span, w.Span, expected, 37, 70, 50, false, true, false);
        AssertClose(expected, WithSentinel(y.ToArray()), "x @ w^T on CpuDevice");
    }

    static float[] RandomArray(Random rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    // A copy of c followed by sentinels, to catch writes past the end of C.
    static float[] WithSentinel(float[] c)
    {
        var r = new float[c.Length + 64];
        c.CopyTo(r, 0);
        r.AsSpan(c.Length).Fill(Sentinel);
        return r;
    }

    // fp32 accumulation against the double reference: error relative to the largest value in C.
    static void AssertClose(float[] expected, float[] actual, string what)
    {
        double scale = 1e-30, worst = 0;
        foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.That(worst / scale, Is.LessThanOrEqualTo(1e-5).And.Not.NaN, $"{what}: max error {worst} at scale {scale}");
        Assert.That(actual.AsSpan(expected.Length).ToArray(), Is.All.EqualTo(Sentinel), $"{what}: wrote past the end of C");
    }
}
