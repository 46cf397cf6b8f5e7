using DrICL.Kernels.Cpu;
using NUnit.Framework;

namespace DrICL.Tests.Kernels;

public class DecodeAttentionTests
{
    static float[] Random(int n, int seed, float scale = 1)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    // Head dimensions on and off the 16-wide path (40 uses the reference), counts off the 4-key and 2-position blocks.
    [TestCase(16, 1)]
    [TestCase(48, 3)]
    [TestCase(64, 17)]
    [TestCase(128, 300)]
    [TestCase(40, 9)]
    public unsafe void HeadMatchesTheReference(int d, int count)
    {
        const int kvHeads = 2, stride = kvHeads * 128 + 5;  // rows of a cache holding 2 kv heads (and a little more)
        var q = Random(d, 1);
        var keys = Random(count * stride, 2);
        var values = Random(count * stride, 3);
        foreach (int kvHead in new[] { 0, 1 })
        {
            float[] expected = new float[d], actual = new float[d], scores = new float[count];
            fixed (float* pq = q, pk = keys, pv = values, ps = scores, pe = expected, pa = actual)
            {
                DecodeAttention.HeadReference(pq, pk + kvHead * 128, pv + kvHead * 128, stride, count, d, ps, pe);
                DecodeAttention.Head(pq, pk + kvHead * 128, pv + kvHead * 128, stride, count, d, ps, pa);
            }
            Assert.That(actual, Is.EqualTo(expected).Within(1e-5f), $"kv head {kvHead}");
        }
    }

    [Test]
    public unsafe void LargeScoresStayFinite()
    {
        // Scores near ±1000: exp without subtracting the max overflows to inf, and inf / inf is NaN.
        const int d = 64, count = 5;
        var q = Random(d, 4, 40);
        var keys = Random(count * d, 5, 40);
        var values = Random(count * d, 6);
        float[] expected = new float[d], actual = new float[d], scores = new float[count];
        fixed (float* pq = q, pk = keys, pv = values, ps = scores, pe = expected, pa = actual)
        {
            DecodeAttention.HeadReference(pq, pk, pv, d, count, d, ps, pe);
            DecodeAttention.Head(pq, pk, pv, d, count, d, ps, pa);
        }
        Assert.That(expected.All(float.IsFinite), "reference");
        Assert.That(actual, Is.EqualTo(expected).Within(1e-5f));
    }
}
