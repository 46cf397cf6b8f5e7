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

    // Every query head of the chunked kernel against HeadReference over all count positions of its kv head. With
    // bf16, the kernel reads a bf16 copy of the cache and the reference its values widened back to float32.
    static unsafe void AssertMatchesReference(int d, int heads, int kvHeads, int count, int chunks, int threads, float scale, bool bf16 = false)
    {
        int kvWidth = kvHeads * d;
        var q = Random(heads * d, 1, scale);
        var keys = Random(count * kvWidth, 2, scale);
        var values = Random(count * kvWidth, 3);
        ushort[] keys16 = new ushort[keys.Length], values16 = new ushort[values.Length];
        if (bf16)
        {
            Bf16.FromFloats(keys, keys16);
            Bf16.FromFloats(values, values16);
            Bf16.ToFloats(keys16, keys);
            Bf16.ToFloats(values16, values);
        }
        float[] expected = new float[heads * d], actual = new float[heads * d], scores = new float[count];
        using var team = new ThreadTeam(threads);
        var attention = new DecodeAttention(heads, kvHeads, d, count, chunks);
        fixed (float* pq = q, pk = keys, pv = values, ps = scores, pe = expected, pa = actual)
        fixed (ushort* pk16 = keys16, pv16 = values16)
        {
            for (int h = 0; h < heads; h++)
            {
                int offset = h / (heads / kvHeads) * d;
                DecodeAttention.HeadReference(pq + h * d, pk + offset, pv + offset, kvWidth, count, d, ps, pe + h * d);
            }
            if (bf16) attention.Run(team, chunks, pq, pk16, pv16, count, pa);
            else attention.Run(team, chunks, pq, pk, pv, count, pa);
        }
        Assert.That(expected.All(float.IsFinite), "reference");
        Assert.That(actual, Is.EqualTo(expected).Within(1e-5f));
    }

    // Head dimensions on and off the 16-wide path (40 takes the scalar fallback), GQA groups of 1, 2 and 3,
    // counts off the 4-row blocks and the 16-wide softmax, one chunk and several, teams of one and two.
    [TestCase(16, 4, 4, 1, 1, 1)]
    [TestCase(16, 4, 2, 37, 3, 2)]
    [TestCase(48, 6, 6, 3, 1, 2)]
    [TestCase(48, 6, 6, 129, 2, 2)]
    [TestCase(48, 6, 2, 130, 5, 1)]
    [TestCase(64, 8, 8, 17, 4, 2)]
    [TestCase(64, 12, 4, 300, 7, 2)]
    [TestCase(128, 4, 1, 300, 1, 1)]
    [TestCase(128, 8, 2, 301, 3, 2)]
    [TestCase(40, 4, 2, 9, 1, 1)]
    [TestCase(40, 4, 2, 33, 3, 2)]
    public void MatchesTheReference(int d, int heads, int kvHeads, int count, int chunks, int threads) =>
        AssertMatchesReference(d, heads, kvHeads, count, chunks, threads, 1);

    // A bf16 cache, widened as it is read: on the 16-wide path (one chunk and several, GQA) and the scalar fallback.
    [TestCase(16, 4, 2, 37, 3, 2)]
    [TestCase(48, 6, 6, 129, 2, 2)]
    [TestCase(64, 12, 4, 300, 7, 2)]
    [TestCase(128, 8, 2, 301, 3, 2)]
    [TestCase(40, 4, 2, 33, 3, 2)]
    public void MatchesTheReferenceOnABf16Cache(int d, int heads, int kvHeads, int count, int chunks, int threads) =>
        AssertMatchesReference(d, heads, kvHeads, count, chunks, threads, 1, bf16: true);

    // More chunks than positions: the kernel runs one chunk per position.
    [Test]
    public void MoreChunksThanPositions() => AssertMatchesReference(16, 2, 1, 3, 8, 2, 1);

    // Scores near ±1000: exp without subtracting the max overflows to inf, and inf / inf is NaN. Across chunks the
    // maxima differ by hundreds, so the merge must rescale to the common max too.
    [TestCase(64, 1)]
    [TestCase(64, 4)]
    [TestCase(40, 4)]
    public void LargeScoresStayFinite(int d, int chunks) => AssertMatchesReference(d, 4, 2, 23, chunks, 2, 40);
}
