using DrICL.Kernels.Cpu;
using NUnit.Framework;

namespace DrICL.Tests.Kernels;

public class MatVecTests
{
    static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    // Shapes off every vector width: rows not a multiple of 4, columns not of 16 or 32.
    static readonly int[][] Shapes = [[1, 1], [3, 17], [4, 32], [7, 33], [13, 100], [64, 288], [130, 769]];

    [TestCaseSource(nameof(Shapes))]
    public unsafe void FusedProductsMatchTheReferences(int rows, int cols)
    {
        var x = Random(cols, 1);
        var f32 = Random(rows * cols, 2);
        var bf16 = new ushort[rows * 2 * cols];
        Bf16.FromFloats(Random(rows * 2 * cols, 3), bf16);
        float[] expected32 = new float[rows], expected16 = new float[rows * 2];
        MatVec.Reference(f32, x, expected32, rows, cols);
        MatVec.Bf16Reference(bf16, x, expected16, rows * 2, cols);
        foreach (int members in new[] { 1, 2 })
        {
            using var team = new ThreadTeam(members);
            float[] y32 = new float[rows], y16 = new float[rows * 2], pairs = new float[cols];
            fixed (float* px = x, pw = f32, p32 = y32, p16 = y16, pp = pairs)
            fixed (ushort* pb = bf16)
            {
                // One f32 and one bf16 matrix (the bf16 one seen as two halves), fused over one input.
                var job = new FusedMatVec(
                    [new WeightMatrix(rows, cols, WeightFormat.F32, pw), new WeightMatrix(rows, cols, WeightFormat.Bf16, pb), new WeightMatrix(rows, cols, WeightFormat.Bf16, pb + rows * cols)],
                    [(nint)p32, (nint)p16, (nint)(p16 + rows)], px, pp);
                job.Run(team);
            }
            float tolerance = 1e-5f * MathF.Sqrt(cols);
            Assert.That(y32, Is.EqualTo(expected32).Within(tolerance), $"f32, {members} threads");
            Assert.That(y16, Is.EqualTo(expected16).Within(tolerance), $"bf16, {members} threads");
        }
    }

    [Test]
    public void Bf16ProductStaysWithinBf16RoundingOfTheFloatProduct()
    {
        const int rows = 64, cols = 768;
        var w = Random(rows * cols, 4);
        var x = Random(cols, 5);
        var halves = new ushort[w.Length];
        Bf16.FromFloats(w, halves);
        float[] exact = new float[rows], rounded = new float[rows];
        MatVec.Reference(w, x, exact, rows, cols);
        MatVec.Bf16Reference(halves, x, rounded, rows, cols);
        // Each weight moves by at most 2^-9 relative, so a row's error is bounded by 2^-9 · sum |w x|.
        for (int r = 0; r < rows; r++)
        {
            double bound = Enumerable.Range(0, cols).Sum(c => Math.Abs(w[r * cols + c] * x[c])) / 512;
            Assert.That(Math.Abs(rounded[r] - exact[r]), Is.LessThanOrEqualTo(bound + 1e-6), $"row {r}");
        }
    }

    [Test]
    public void Bf16WideningMatchesTheScalarConversion()
    {
        var halves = new ushort[37];
        Bf16.FromFloats(Random(halves.Length, 6), halves);
        var wide = new float[halves.Length];
        Bf16.ToFloats(halves, wide);
        Assert.That(wide, Is.EqualTo(halves.Select(Bf16.ToFloat).ToArray()));
    }

    [Test]
    public void Bf16RoundsToNearestEven()
    {
        Assert.That(Bf16.FromFloat(1f), Is.EqualTo(0x3F80));
        Assert.That(Bf16.FromFloat(BitConverter.UInt32BitsToSingle(0x3F808000)), Is.EqualTo(0x3F80), "a tie rounds to the even 0x3F80");
        Assert.That(Bf16.FromFloat(BitConverter.UInt32BitsToSingle(0x3F818000)), Is.EqualTo(0x3F82), "a tie rounds to the even 0x3F82");
        Assert.That(Bf16.FromFloat(BitConverter.UInt32BitsToSingle(0x3F808001)), Is.EqualTo(0x3F81), "above the tie rounds up");
        Assert.That(float.IsNaN(Bf16.ToFloat(Bf16.FromFloat(float.NaN))), Is.True);
        Assert.That(Bf16.ToFloat(Bf16.FromFloat(-2.5f)), Is.EqualTo(-2.5f));
    }
}
