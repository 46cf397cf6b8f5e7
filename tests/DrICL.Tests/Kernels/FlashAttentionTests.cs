using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using NUnit.Framework;

namespace DrICL.Tests.Kernels;

/// <summary>
/// The fused flash-attention kernels against the plain reference over odd shapes and every mask kind,
/// and the reference backward against finite differences, so the reference itself is known to be right.
/// </summary>
[TestFixture]
public class FlashAttentionTests
{
    public enum MaskKind { Causal, Window1, Window5, Window12, PrefixAll, PrefixFirst, PrefixNone, Packed, PackedWindow5 }

    // Every length meets every mask kind; head dims and head layouts rotate so all nine pairs occur.
    static IEnumerable<TestCaseData> Shapes()
    {
        int[] lengths = [1, 7, 33, 100];
        int[] dims = [8, 16, 64];
        (int Heads, int Kv)[] layouts = [(4, 4), (6, 2), (4, 1)];
        int n = 0;
        foreach (int t in lengths)
            foreach (var kind in Enum.GetValues<MaskKind>())
            {
                int d = dims[n % 3], batch = 1 + n % 2;
                var (h, kv) = layouts[n / 3 % 3];
                yield return new TestCaseData(batch, t, h, kv, d, kind).SetName($"B{batch} T{t} H{h}/{kv} D{d} {kind}");
                n++;
            }
    }

    // Queries decoded against a longer KV cache: at its end, and in the middle (later keys exist but are hidden).
    static IEnumerable<TestCaseData> Offsets()
    {
        yield return new TestCaseData(1, 1, 99, MaskKind.Causal).SetName("Tq1 Tk100 at 99 Causal");
        yield return new TestCaseData(2, 7, 93, MaskKind.Window12).SetName("Tq7 Tk100 at 93 Window12");
        yield return new TestCaseData(1, 33, 67, MaskKind.PrefixFirst).SetName("Tq33 Tk100 at 67 PrefixFirst");
        yield return new TestCaseData(2, 20, 50, MaskKind.PrefixNone).SetName("Tq20 Tk100 at 50 PrefixNone");
        yield return new TestCaseData(1, 40, 30, MaskKind.Window5).SetName("Tq40 Tk100 at 30 Window5");
    }

    [TestCaseSource(nameof(Shapes))]
    public void FastMatchesReference(int batch, int t, int heads, int kv, int d, MaskKind kind)
    {
        var shape = new AttentionShape(batch, t, t, heads, kv, d);
        CompareWithReference(shape, MakeMask(kind, batch, t, seed: t * 31 + d));
    }

    [TestCaseSource(nameof(Offsets))]
    public void FastMatchesReferenceWithQueryOffset(int batch, int tq, int offset, MaskKind kind)
    {
        const int tk = 100;
        var shape = new AttentionShape(batch, tq, tk, 6, 2, 16, offset);
        CompareWithReference(shape, MakeMask(kind, batch, tk, seed: offset));
    }

    [Test]
    public void BackwardIsDeterministic()
    {
        var shape = new AttentionShape(2, 100, 100, 8, 2, 32);
        var mask = MakeMask(MaskKind.PrefixAll, 2, 100, seed: 5);
        var (q, k, v, dO) = Inputs(shape, seed: 9);
        var o = new float[q.Length];
        var lse = new float[shape.Batch * shape.Heads * shape.QueryLength];
        FlashAttention.Forward(q, k, v, o, lse, shape, mask);
        float[] first = [], second = [];
        foreach (var run in new[] { 0, 1 })
        {
            var (dq, dk, dv) = (new float[q.Length], new float[k.Length], new float[v.Length]);
            FlashAttention.Backward(dO, q, k, v, o, lse, dq, dk, dv, shape, mask);
            float[] all = [.. dq, .. dk, .. dv];
            if (run == 0) first = all; else second = all;
        }
        Assert.That(second, Is.EqualTo(first));
    }

    // d(sum dO*O)/d(q,k,v) of the reference backward against central differences of the reference forward.
    [TestCase(MaskKind.Causal)]
    [TestCase(MaskKind.Window5)]
    [TestCase(MaskKind.PrefixFirst)]
    public void ReferenceBackwardMatchesFiniteDifferences(MaskKind kind)
    {
        var shape = new AttentionShape(1, 9, 9, 2, 1, 3);
        var mask = MakeMask(kind, 1, 9, seed: 3);
        var (q, k, v, dO) = Inputs(shape, seed: 4);
        var o = new float[q.Length];
        var lse = new float[shape.Heads * shape.QueryLength];
        FlashAttention.ForwardReference(q, k, v, o, lse, shape, mask);
        var (dq, dk, dv) = (new float[q.Length], new float[k.Length], new float[v.Length]);
        FlashAttention.BackwardReference(dO, q, k, v, o, lse, dq, dk, dv, shape, mask);

        double Loss()
        {
            var oo = new float[q.Length];
            FlashAttention.ForwardReference(q, k, v, oo, new float[lse.Length], shape, mask);
            double sum = 0;
            for (int i = 0; i < oo.Length; i++) sum += (double)dO[i] * oo[i];
            return sum;
        }

        const float eps = 1e-2f;
        foreach (var (x, grad, name) in new[] { (q, dq, "dq"), (k, dk, "dk"), (v, dv, "dv") })
            for (int i = 0; i < x.Length; i++)
            {
                float keep = x[i];
                x[i] = keep + eps; double up = Loss();
                x[i] = keep - eps; double down = Loss();
                x[i] = keep;
                double numeric = (up - down) / (2 * eps);
                Assert.That(grad[i], Is.EqualTo(numeric).Within(2e-3 + 1e-2 * Math.Abs(numeric)), $"{name}[{i}]");
            }
    }

    static void CompareWithReference(AttentionShape shape, AttentionMask mask)
    {
        var (q, k, v, dO) = Inputs(shape, seed: shape.QueryLength + 7 * shape.HeadDim + shape.QueryOffset);
        int stats = shape.Batch * shape.Heads * shape.QueryLength;
        var (oRef, lseRef, o, lse) = (new float[q.Length], new float[stats], new float[q.Length], new float[stats]);
        FlashAttention.ForwardReference(q, k, v, oRef, lseRef, shape, mask);
        FlashAttention.Forward(q, k, v, o, lse, shape, mask);
        AssertClose(oRef, o, "o");
        AssertClose(lseRef, lse, "lse");

        var (dqRef, dkRef, dvRef) = (new float[q.Length], new float[k.Length], new float[v.Length]);
        var (dq, dk, dv) = (new float[q.Length], new float[k.Length], new float[v.Length]);
        FlashAttention.BackwardReference(dO, q, k, v, oRef, lseRef, dqRef, dkRef, dvRef, shape, mask);
        // Stale values in the outputs must not leak through: the fast backward overwrites, as documented.
        Array.Fill(dq, float.NaN); Array.Fill(dk, float.NaN); Array.Fill(dv, float.NaN);
        FlashAttention.Backward(dO, q, k, v, o, lse, dq, dk, dv, shape, mask);
        AssertClose(dqRef, dq, "dq");
        AssertClose(dkRef, dk, "dk");
        AssertClose(dvRef, dv, "dv");
    }

    internal static AttentionMask MakeMask(MaskKind kind, int batch, int keys, int seed) => kind switch
    {
        MaskKind.Causal => AttentionMask.Causal,
        MaskKind.Window1 => new AttentionMask(Window: 1),
        MaskKind.Window5 => new AttentionMask(Window: 5),
        MaskKind.Window12 => new AttentionMask(Window: 12),
        MaskKind.PrefixAll => new AttentionMask(SegmentIds: Segments(batch, keys, seed), Prefix: PrefixVisibility.All),
        MaskKind.PrefixFirst => new AttentionMask(SegmentIds: Segments(batch, keys, seed), Prefix: PrefixVisibility.First),
        MaskKind.PrefixNone => new AttentionMask(SegmentIds: Segments(batch, keys, seed), Prefix: PrefixVisibility.None),
        MaskKind.Packed => new AttentionMask(SegmentIds: Segments(batch, keys, seed), Prefix: PrefixVisibility.First, SequenceIds: Sequences(batch, keys, seed)),
        _ => new AttentionMask(Window: 5, SequenceIds: Sequences(batch, keys, seed)),
    };

    // Episodes packed into each row: runs of random lengths 1..40 numbered 1, 2, ... across the batch.
    static int[] Sequences(int batch, int keys, int seed)
    {
        var rng = new Random(seed + 1);
        var ids = new int[batch * keys];
        int id = 0;
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < keys; id++)
                for (int len = rng.Next(1, 41); len > 0 && j < keys; len--) ids[b * keys + j++] = id + 1;
        return ids;
    }

    // Per sequence: a 3-token prefix (segment 0), then demonstrations 1, 2, ... of random lengths 1..20.
    static int[] Segments(int batch, int keys, int seed)
    {
        var rng = new Random(seed);
        var ids = new int[batch * keys];
        for (int b = 0; b < batch; b++)
        {
            int j = Math.Min(3, keys), segment = 0;
            while (j < keys)
            {
                segment++;
                for (int len = rng.Next(1, 21); len > 0 && j < keys; len--) ids[b * keys + j++] = segment;
            }
        }
        return ids;
    }

    internal static (float[] Q, float[] K, float[] V, float[] DO) Inputs(AttentionShape s, int seed)
    {
        var rng = new Random(seed);
        float[] Make(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2))];
        int qn = s.Batch * s.QueryLength * s.Heads * s.HeadDim, kn = s.Batch * s.KeyLength * s.KvHeads * s.HeadDim;
        return (Make(qn), Make(kn), Make(kn), Make(qn));
    }

    // |actual - expected| <= tolerance * max(1, max|expected|) everywhere
    internal static void AssertClose(float[] expected, float[] actual, string what, double tolerance = 2e-5)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        double scale = Math.Max(1, expected.Max(Math.Abs)), worst = 0;
        int at = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs((double)expected[i] - actual[i]);
            if (double.IsNaN(err)) Assert.Fail($"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
            if (err > worst) { worst = err; at = i; }
        }
        Assert.That(worst, Is.LessThanOrEqualTo(tolerance * scale), $"{what}[{at}]: expected {expected[at]}, got {actual[at]}");
    }
}
