using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Model.Inference;
using NUnit.Framework;

namespace DrICL.Tests.Model.Inference;

public class RotaryTableTests
{
    // Head dims with half 10 (one 8-wide step and a tail), 24 (three 8-wide steps) and 36 (four steps and a tail): the same
    // float32 angles and products as the reference, so the same bits.
    [TestCase(20)]
    [TestCase(48)]
    [TestCase(72)]
    public unsafe void RotatesAsTheReference(int headDim)
    {
        const int heads = 3;
        var frequencies = RopeFrequencies.Create(10000f, headDim);
        var table = new RotaryTable(frequencies.Inverse, 1200);
        var rng = new Random(headDim);
        foreach (int pos in new[] { 0, 5, 1100 })
        {
            var x = Enumerable.Range(0, heads * headDim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var expected = (float[])x.Clone();
            Rope.Reference(expected, [pos], 1, 1, heads, headDim, frequencies, inverse: false);
            fixed (float* p = x) table.Rotate(p, heads, pos);
            Assert.That(x, Is.EqualTo(expected), $"position {pos}");
        }
    }
}
