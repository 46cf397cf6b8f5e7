using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Ilgpu;
using NUnit.Framework;

namespace DrICL.Tests.Ilgpu;

/// <summary>
/// Every IlgpuDevice op except attention against CpuDevice's reference on random data and odd shapes
/// (sizes that are not multiples of a warp or a tile). The device opens once for the fixture: on a CUDA GPU
/// when ILGPU finds one, else on ILGPU's CPU accelerator, so these tests always execute. On the CPU
/// accelerator every simulated GPU thread is an OS thread, so shapes stay small.
/// </summary>
[Category("Gpu")]
[NonParallelizable]
public class IlgpuParityTests
{
    static readonly CpuDevice Cpu = CpuDevice.Instance;

    IlgpuDevice gpu = null!;
    IlgpuDevice Gpu => gpu;

    [OneTimeSetUp]
    public void Open()
    {
        gpu = OpenDevice(ComputePrecision.Fp32);
        TestContext.Progress.WriteLine($"{nameof(IlgpuParityTests)} on {gpu}");
    }

    [OneTimeTearDown]
    public void Close() => gpu?.Dispose();

    /// <summary>A CUDA GPU through ILGPU when there is one, else ILGPU's CPU accelerator.</summary>
    internal static IlgpuDevice OpenDevice(ComputePrecision precision)
    {
        try
        {
            return IlgpuDevice.OpenCuda(0, precision);
        }
        catch (NotSupportedException)
        {
            return IlgpuDevice.OpenCpu(precision);
        }
    }

    // ---- helpers

    static float[] Random(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = scale * (float)(rng.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>The same values on both devices.</summary>
    (Tensor Cpu, Tensor Gpu) Pair(float[] values, params int[] shape) => (Cpu.Upload(values, shape), Gpu.Upload(values, shape));

    (Tensor Cpu, Tensor Gpu) RandomPair(int seed, params int[] shape) => Pair(Random(Tensor.SizeOf(shape), seed), shape);

    /// <summary>The fixtures' criterion: max |got - expected| &lt;= tol * max(1, max |expected|).</summary>
    static void AssertClose(Tensor expected, Tensor actual, float tol, string what = "")
    {
        float[] e = expected.ToArray(), a = actual.ToArray();
        Assert.That(a, Has.Length.EqualTo(e.Length), what);
        float scale = Math.Max(1f, e.Length == 0 ? 0f : e.Max(MathF.Abs));
        int worst = -1;
        float worstDiff = 0;
        for (int i = 0; i < e.Length; i++)
        {
            float diff = MathF.Abs(a[i] - e[i]);
            if (!(diff <= worstDiff)) { worstDiff = diff; worst = i; } // NaN counts as worst
        }
        Assert.That(worstDiff, Is.LessThanOrEqualTo(tol * scale), $"{what}: at {worst} expected {(worst >= 0 ? e[worst] : 0)} got {(worst >= 0 ? a[worst] : 0)}");
    }

    // ---- storage

    [Test]
    public void UploadDownloadFillCopyAndRowViews()
    {
        var values = Random(3 * 37, 1);
        var t = Gpu.Upload(values, 3, 37);
        Assert.That(t.ToArray(), Is.EqualTo(values));
        Assert.That(Gpu.Zeros(5, 7).ToArray(), Is.All.EqualTo(0f));
        Gpu.Fill(t, -2.5f);
        Assert.That(t.ToArray(), Is.All.EqualTo(-2.5f));

        var src = Gpu.Upload(values, 3, 37);
        var dst = Gpu.Zeros(3, 37);
        Gpu.Copy(src, dst);
        Assert.That(dst.ToArray(), Is.EqualTo(values));

        var cache = Gpu.Zeros(10, 37);
        Gpu.CopyRows(src, cache, 4);
        var filled = cache.ToArray();
        Assert.That(filled[..(4 * 37)], Is.All.EqualTo(0f));
        Assert.That(filled[(4 * 37)..(7 * 37)], Is.EqualTo(values));
        Assert.That(cache.SliceRows(4, 3).ToArray(), Is.EqualTo(values));
        Assert.That(cache.SliceRows(5, 1).ToArray(), Is.EqualTo(values[37..74]));
        Gpu.Scale(cache.SliceRows(5, 1), 2f); // a slice is a view: ops on it touch only its rows
        Assert.That(cache.ToArray()[(5 * 37)..(6 * 37)], Is.EqualTo(values[37..74].Select(v => 2 * v)));
        Assert.That(cache.ToArray()[(6 * 37)..(7 * 37)], Is.EqualTo(values[74..]));
        Assert.Throws<InvalidOperationException>(() => _ = t.Span);
    }

    [Test]
    public void TensorsOfAnotherDeviceAreRejected()
    {
        var onCpu = Cpu.Zeros(4);
        Assert.Throws<ArgumentException>(() => Gpu.Scale(onCpu, 2f));
    }

    // ---- elementwise

    [Test]
    public void AddAccumulateScale()
    {
        const int n = 10_007;
        var (a, ga) = RandomPair(1, n);
        var (b, gb) = RandomPair(2, n);
        var (y, gy) = (Cpu.Zeros(n), Gpu.Zeros(n));
        Cpu.Add(a, b, y); Gpu.Add(ga, gb, gy);
        AssertClose(y, gy, 0, "add");
        Cpu.Accumulate(a, b); Gpu.Accumulate(ga, gb);
        AssertClose(a, ga, 0, "accumulate");
        Cpu.Scale(a, -0.37f); Gpu.Scale(ga, -0.37f);
        AssertClose(a, ga, 0, "scale");
    }

    // ---- matrix multiply

    [TestCase(37, 19, 23, false, false, false)]
    [TestCase(37, 19, 23, true, false, true)]
    [TestCase(37, 19, 23, false, true, false)]
    [TestCase(37, 19, 23, true, true, true)]
    [TestCase(1, 257, 64, false, true, false)] // a decode step: one row against a weight matrix
    [TestCase(300, 1, 129, false, false, true)]
    public void MatMul(int m, int n, int k, bool transA, bool transB, bool accumulate)
    {
        var (a, ga) = RandomPair(1, transA ? k : m, transA ? m : k);
        var (b, gb) = RandomPair(2, transB ? n : k, transB ? k : n);
        var (c, gc) = RandomPair(3, m, n);
        Cpu.MatMul(a, b, c, transA, transB, accumulate);
        Gpu.MatMul(ga, gb, gc, transA, transB, accumulate);
        AssertClose(c, gc, 1e-5f);
    }

    [Test]
    public void Bf16MatMulRoundsItsInputsAndAccumulatesInFp32()
    {
        // Inputs are rounded to bf16 (8 bits of mantissa: relative error up to 2^-9 each), products summed
        // in fp32; against the fp32 reference that is ~2^-8 * sqrt(K) * |a||b| at worst, far below 1e-2 here.
        const int m = 33, n = 17, k = 70;
        using var bf16 = OpenDevice(ComputePrecision.Bf16);
        var (a, b) = (Random(m * k, 1), Random(n * k, 2));
        var c = Cpu.Zeros(m, n);
        Cpu.MatMul(Cpu.Upload(a, m, k), Cpu.Upload(b, n, k), c, false, true, false);
        var gc = bf16.Zeros(m, n);
        bf16.MatMul(bf16.Upload(a, m, k), bf16.Upload(b, n, k), gc, false, true, false);
        AssertClose(c, Cpu.Upload(gc.ToArray(), m, n), 1e-2f, "bf16 vs fp32");
        // The rounding is real: the product differs from fp32's by more than float rounding.
        float[] exact = c.ToArray(), rounded = gc.ToArray();
        Assert.That(exact.Zip(rounded).Max(p => MathF.Abs(p.First - p.Second)), Is.GreaterThan(1e-4f));
    }

    [TestCase(0f, 0f)]
    [TestCase(1f, 1f)]
    [TestCase(1.00390625f, 1f)]          // 1 + 2^-8: a tie, to the even neighbour 1
    [TestCase(1.01171875f, 1.015625f)]   // 1 + 3 * 2^-8: a tie, to the even neighbour 1 + 2^-6
    [TestCase(-3.14159265f, -3.140625f)]
    [TestCase(float.PositiveInfinity, float.PositiveInfinity)]
    public void RoundToBf16KeepsEightBitsOfMantissaTiesToEven(float x, float expected) =>
        Assert.That(DrICL.Kernels.Ilgpu.Bf16.Round(x), Is.EqualTo(expected));

    [Test]
    public void RoundToBf16KeepsNaN() => Assert.That(float.IsNaN(DrICL.Kernels.Ilgpu.Bf16.Round(float.NaN)));

    // ---- model ops

    [Test]
    public void EmbeddingForwardAndBackwardWithRepeatedIds()
    {
        const int vocab = 101, c = 67;
        int[] ids = [5, 0, 100, 5, 5, 42, 0, 99, 5];
        var (table, gtable) = RandomPair(1, vocab, c);
        var (y, gy) = (Cpu.Zeros(ids.Length, c), Gpu.Zeros(ids.Length, c));
        Cpu.Embedding(table, ids, y); Gpu.Embedding(gtable, ids, gy);
        AssertClose(y, gy, 0, "forward");

        var (dy, gdy) = RandomPair(2, ids.Length, c);
        var (dtable, gdtable) = RandomPair(3, vocab, c); // accumulates into what is there
        Cpu.EmbeddingBackward(dy, ids, dtable); Gpu.EmbeddingBackward(gdy, ids, gdtable);
        AssertClose(dtable, gdtable, 1e-6f, "backward");

        Assert.Throws<ArgumentOutOfRangeException>(() => Gpu.Embedding(gtable, [vocab], Gpu.Zeros(1, c)));
    }

    [TestCase(5, 67)]
    [TestCase(33, 1000)]
    [TestCase(1, 1)]
    public void RmsNormForwardAndBackward(int n, int c)
    {
        var (x, gx) = RandomPair(1, n, c);
        var (w, gw) = Pair(Random(c, 2).Select(v => 1 + 0.3f * v).ToArray(), c);
        var (y, gy) = (Cpu.Zeros(n, c), Gpu.Zeros(n, c));
        var (rstd, grstd) = (Cpu.Zeros(n), Gpu.Zeros(n));
        Cpu.RmsNorm(x, w, y, rstd, 1e-5f); Gpu.RmsNorm(gx, gw, gy, grstd, 1e-5f);
        AssertClose(y, gy, 1e-6f, "y");
        AssertClose(rstd, grstd, 1e-6f, "rstd");

        var (dy, gdy) = RandomPair(3, n, c);
        var (dx, gdx) = (Cpu.Zeros(n, c), Gpu.Zeros(n, c));
        var (dw, gdw) = RandomPair(4, c);
        Cpu.RmsNormBackward(dy, x, w, rstd, dx, dw); Gpu.RmsNormBackward(gdy, gx, gw, grstd, gdx, gdw);
        AssertClose(dx, gdx, 1e-5f, "dx");
        AssertClose(dw, gdw, 1e-5f, "dw");
    }

    [TestCase(2, 7, 3, 8, 10000f, false)]
    [TestCase(1, 5, 4, 128, 1000000f, false)]
    [TestCase(2, 3, 2, 6, 500f, false)]
    [TestCase(2, 5, 2, 64, 500000f, true)]
    public void RopeForwardAndInverse(int batch, int seq, int heads, int headDim, float theta, bool llama3)
    {
        var frequencies = RopeFrequencies.Create(theta, headDim, llama3 ? new Llama3RopeScaling(8, 1, 4, 8192) : null);
        // Far positions too: angles of tens of thousands of radians are where float sin/cos would drift.
        var positions = Enumerable.Range(0, batch * seq).Select(i => i % 3 == 0 ? 32_000 + i : i).ToArray();
        var (x, gx) = RandomPair(1, batch, seq, heads, headDim);
        Cpu.Rope(x, positions, batch, seq, heads, headDim, frequencies, inverse: false);
        Gpu.Rope(gx, positions, batch, seq, heads, headDim, frequencies, inverse: false);
        AssertClose(x, gx, 1e-6f, "forward");
        Cpu.Rope(x, positions, batch, seq, heads, headDim, frequencies, inverse: true);
        Gpu.Rope(gx, positions, batch, seq, heads, headDim, frequencies, inverse: true);
        AssertClose(x, gx, 1e-6f, "inverse");
    }

    [Test]
    public void SwiGluForwardAndBackward()
    {
        const int n = 3 * 1001;
        var (gate, ggate) = Pair(Random(n, 1, 8f), 3, 1001);
        var (up, gup) = RandomPair(2, 3, 1001);
        var (h, gh) = (Cpu.Zeros(3, 1001), Gpu.Zeros(3, 1001));
        Cpu.SwiGlu(gate, up, h); Gpu.SwiGlu(ggate, gup, gh);
        AssertClose(h, gh, 1e-6f, "h");
        var (dh, gdh) = RandomPair(3, 3, 1001);
        var (dgate, gdgate) = (Cpu.Zeros(3, 1001), Gpu.Zeros(3, 1001));
        var (dup, gdup) = (Cpu.Zeros(3, 1001), Gpu.Zeros(3, 1001));
        Cpu.SwiGluBackward(dh, gate, up, dgate, dup); Gpu.SwiGluBackward(gdh, ggate, gup, gdgate, gdup);
        AssertClose(dgate, gdgate, 1e-6f, "dgate");
        AssertClose(dup, gdup, 1e-6f, "dup");
    }

    [Test]
    public void AttentionRejectsIdsOfTheWrongLength()
    {
        var shape = new AttentionShape(2, 5, 5, 2, 1, 8);
        var (q, o) = (Gpu.Zeros(2, 5, 2, 8), Gpu.Zeros(2, 5, 2, 8));
        var (k, v, lse) = (Gpu.Zeros(2, 5, 1, 8), Gpu.Zeros(2, 5, 1, 8), Gpu.Zeros(2, 2, 5));
        Assert.Throws<ArgumentException>(() => Gpu.Attention(q, k, v, o, lse, shape, new AttentionMask(SegmentIds: new int[9])));
        var e = Assert.Throws<ArgumentException>(() => Gpu.Attention(q, k, v, o, lse, shape, new AttentionMask(SequenceIds: new int[5])));
        Assert.That(e!.Message, Does.Contain("sequence ids"));
        Assert.Throws<ArgumentException>(() => Gpu.AttentionBackward(o, q, k, v, o, lse, q, k, v, shape, new AttentionMask(SequenceIds: new int[11])));
    }

    [TestCase(7, 1000)]
    [TestCase(3, 32001)]
    [TestCase(2, 5)]
    public void CrossEntropyForwardAndBackward(int n, int vocab)
    {
        var (logits, glogits) = Pair(Random(n * vocab, 1, 6f), n, vocab);
        var labels = Enumerable.Range(0, n).Select(i => i % 3 == 1 ? DrICL.Kernels.Cpu.CrossEntropy.IgnoreIndex : (i * 7919) % vocab).ToArray();
        var (nll, gnll) = (Cpu.Zeros(n), Gpu.Zeros(n));
        var (lse, glse) = (Cpu.Zeros(n), Gpu.Zeros(n));
        Cpu.CrossEntropy(logits, labels, nll, lse); Gpu.CrossEntropy(glogits, labels, gnll, glse);
        AssertClose(nll, gnll, 1e-5f, "nll");
        AssertClose(lse, glse, 1e-5f, "lse");

        var (weights, gweights) = Pair(Random(n, 2).Select(w => w + 1.5f).ToArray(), n);
        var (dlogits, gdlogits) = (Cpu.Zeros(n, vocab), Gpu.Upload(Random(n * vocab, 3), n, vocab));
        Cpu.CrossEntropyBackward(logits, labels, lse, weights, dlogits);
        Gpu.CrossEntropyBackward(glogits, labels, glse, gweights, gdlogits);
        AssertClose(dlogits, gdlogits, 1e-6f, "dlogits");
        Gpu.CrossEntropyBackward(glogits, labels, glse, gweights, glogits);   // in place, as the chunked lm_head loss runs it
        AssertClose(dlogits, glogits, 1e-6f, "dlogits in place");

        Assert.Throws<ArgumentOutOfRangeException>(() => Gpu.CrossEntropy(glogits, [.. labels[..^1], vocab], gnll, glse));
    }

    [TestCase(3)]
    [TestCase(null)]
    public void LinearCrossEntropyOnSlices(int? chunkRows)
    {
        // The chunked lm_head loss works on row slices of x, the scratch, nll, lse and the weights.
        const int n = 11, c = 40, vocab = 203;
        var labels = Enumerable.Range(0, n).Select(i => i is 1 or 2 or 3 ? DrICL.Kernels.Cpu.CrossEntropy.IgnoreIndex : (i * 7919) % vocab).ToArray();
        var weights = Random(n, 4).Select((w, i) => i is 6 or 7 or 8 ? 0f : w + 1.5f).ToArray();
        (float[] Nll, float[] Dx, float[] Dw) Run(IDevice device)
        {
            var x = new DrICL.Model.Autograd.Var(device.Upload(Random(n * c, 5), n, c), requiresGrad: true);
            var w = new DrICL.Model.Autograd.Var(device.Upload(Random(vocab * c, 6), vocab, c), requiresGrad: true);
            var tape = new DrICL.Model.Autograd.Tape(device);
            var losses = DrICL.Model.Autograd.Ops.LinearCrossEntropy(tape, x, w, labels, chunkRows);
            losses.Weights = weights;
            tape.Backward();
            return (losses.Nll, x.Grad!.ToArray(), w.Grad!.ToArray());
        }
        var (nll, dx, dw) = Run(Cpu);
        var (gnll, gdx, gdw) = Run(Gpu);
        AssertClose(Cpu.Upload(nll, n), Cpu.Upload(gnll, n), 1e-5f, "nll");
        AssertClose(Cpu.Upload(dx, n, c), Cpu.Upload(gdx, n, c), 1e-5f, "dx");
        AssertClose(Cpu.Upload(dw, vocab, c), Cpu.Upload(gdw, vocab, c), 1e-5f, "dw");
    }

    [TestCase(1)]
    [TestCase(1000)]
    [TestCase(300_017)] // more elements than the accelerator has threads (on the CPU one): the grid-stride loop
    public void SumOfSquares(int n)
    {
        var values = Random(n, 1);
        // The GPU sums in double, so it is held to the plain double reference (the CPU device's fast sum
        // adds float partial sums and is only ~1e-7 exact).
        double expected = DrICL.Kernels.Cpu.AdamW.SumOfSquaresReference(values), actual = Gpu.SumOfSquares(Gpu.Upload(values, n));
        Assert.That(actual, Is.EqualTo(expected).Within(1e-10 * Math.Max(1, expected))); // double sums in another order
    }

    [Test]
    public void SumOfSquaresOfNothingIsZero() => Assert.That(Gpu.SumOfSquares(Gpu.Zeros(0)), Is.EqualTo(0.0));

    [Test]
    public void AdamWSteps()
    {
        const int n = 4099;
        var config = new AdamWConfig(Lr: 1e-3f, Beta1: 0.9f, Beta2: 0.95f, Eps: 1e-8f, WeightDecay: 0.1f);
        var (p, gp) = RandomPair(1, n);
        var (m, gm) = (Cpu.Zeros(n), Gpu.Zeros(n));
        var (v, gv) = (Cpu.Zeros(n), Gpu.Zeros(n));
        for (int step = 1; step <= 5; step++)
        {
            var (g, gg) = RandomPair(10 + step, n);
            Cpu.AdamW(p, g, m, v, config, step, gradScale: 0.7f);
            Gpu.AdamW(gp, gg, gm, gv, config, step, gradScale: 0.7f);
        }
        AssertClose(p, gp, 1e-6f, "p");
        AssertClose(m, gm, 1e-6f, "m");
        AssertClose(v, gv, 1e-6f, "v");
    }

    [Test]
    public void TheCachingAllocatorReusesBuffersAndCountsThem()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Gpu.BytesInUse;
        Gpu.ResetPeak();
        var values = Random(3 << 18, 40); // 3 MiB: a 4 MiB block
        Assert.That(BytesHeldByOneUpload(values) - before, Is.EqualTo(4L << 20));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.That(Gpu.BytesInUse, Is.EqualTo(before), "the dead tensor's buffer went back to the cache");
        Assert.That(Gpu.PeakBytes - before, Is.EqualTo(4L << 20));
        // The recycled buffer holds the new tensor's data, written in stream order after any old reader.
        Assert.That(Gpu.Upload(values, values.Length).ToArray(), Is.EqualTo(values));
    }

    // A method of its own, so that the tensor is unreachable once it returns.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    long BytesHeldByOneUpload(float[] values)
    {
        var t = Gpu.Upload(values, values.Length);
        long held = Gpu.BytesInUse;
        GC.KeepAlive(t);
        return held;
    }
}
