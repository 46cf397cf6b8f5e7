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

    // Prefill projections: several weights sharing x, f32 and bf16 mixed, against the reference with each weight
    // widened. Shapes hit partial row panels (t off MR), partial column panels (rows off NR), K tails below 8 and
    // 32, and K past MaxSlice (two slices); every micro-kernel, on 1 and 3 threads; storing, and adding to what
    // the outputs hold.
    [TestCase(1, new[] { 1 }, 1)]
    [TestCase(2, new[] { 3, 17 }, 33)]
    [TestCase(9, new[] { 49, 48, 5 }, 257)]
    [TestCase(17, new[] { 96, 100 }, 300)]
    [TestCase(130, new[] { 97 }, 513)]
    [TestCase(9, new[] { 48, 49 }, 2100)]
    public unsafe void ProjectionMatchesReference(int t, int[] rows, int k)
    {
        var rng = new Random(t * 7919 + rows.Sum() * 31 + k);
        var x = RandomArray(rng, t * k);
        var f32 = rows.Select(r => RandomArray(rng, r * k)).ToArray();
        var bf16 = f32.Select(w => { var b = new ushort[w.Length]; Bf16.FromFloats(w, b); return b; }).ToArray();
        var expected = rows.Select(r => new float[t * r]).ToArray();
        var handles = new List<System.Runtime.InteropServices.GCHandle>();
        nint Pin(object array)
        {
            var h = System.Runtime.InteropServices.GCHandle.Alloc(array, System.Runtime.InteropServices.GCHandleType.Pinned);
            handles.Add(h);
            return h.AddrOfPinnedObject();
        }
        try
        {
            // Even-numbered weights as f32, odd ones as bf16.
            var weights = rows.Select((r, i) => i % 2 == 0
                ? new WeightMatrix(r, k, WeightFormat.F32, (void*)Pin(f32[i]))
                : new WeightMatrix(r, k, WeightFormat.Bf16, (void*)Pin(bf16[i]))).ToArray();
            for (int i = 0; i < rows.Length; i++)
                if (i % 2 == 0) Gemm.Reference(x, f32[i], expected[i], t, rows[i], k, false, true, false);
                else Gemm.Bf16Reference(x, bf16[i], expected[i], t, rows[i], k);
            var initial = rows.Select(r => RandomArray(rng, t * r)).ToArray();
            var accumulated = expected.Select((e, i) => e.Zip(initial[i], (p, y) => p + y).ToArray()).ToArray();
            float* px = (float*)Pin(x);
            foreach (var kernel in Enum.GetValues<MicroKernel>())
                foreach (int threads in new[] { 1, 3 })
                    foreach (bool accumulate in new[] { false, true })
                    {
                        var actual = accumulate ? initial.Select(y => y.ToArray()).ToArray() : expected.Select(e => WithSentinel(new float[e.Length])).ToArray();
                        Gemm.Project(threads, px, null, t, weights, actual.Select(Pin).ToArray(), accumulate, kernel);
                        for (int i = 0; i < rows.Length; i++)
                            AssertClose(accumulate ? accumulated[i] : expected[i], actual[i], $"{t}x{rows[i]}x{k} weight {i} ({weights[i].Format}) {kernel} threads={threads} accumulate={accumulate}");
                    }
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }

    // The down projection with SwiGLU applied while packing: against SwiGLU's reference, then the reference product.
    [TestCase(1, 5, 3)]
    [TestCase(9, 49, 300)]
    [TestCase(17, 96, 2049)]
    public unsafe void SwiGluProjectionMatchesReference(int t, int rows, int k)
    {
        var rng = new Random(t + rows + k);
        float[] gate = RandomArray(rng, t * k), up = RandomArray(rng, t * k), w = RandomArray(rng, rows * k), h = new float[t * k];
        var initial = RandomArray(rng, t * rows);
        SwiGlu.ForwardReference(gate, up, h);
        var expected = (float[])initial.Clone();
        Gemm.Reference(h, w, expected, t, rows, k, false, true, accumulate: true);
        foreach (int threads in new[] { 1, 3 })
        {
            var actual = (float[])initial.Clone();
            fixed (float* pg = gate, pu = up, pw = w, py = actual)
                Gemm.ProjectSwiGlu(threads, pg, pu, t, new WeightMatrix(rows, k, WeightFormat.F32, pw), py, accumulate: true);
            AssertClose(expected, actual, $"{t}x{rows}x{k} threads={threads}");
            foreach (var kernel in Enum.GetValues<MicroKernel>())
            {
                actual = (float[])initial.Clone();
                fixed (float* pg = gate, pu = up, pw = w, py = actual)
                    Gemm.Project(threads, pg, pu, t, [new WeightMatrix(rows, k, WeightFormat.F32, pw)], [(nint)py], true, kernel);
                AssertClose(expected, actual, $"{t}x{rows}x{k} threads={threads} {kernel}");
            }
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
