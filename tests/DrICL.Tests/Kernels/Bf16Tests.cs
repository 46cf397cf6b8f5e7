using DrICL.Kernels.Cpu;
using NUnit.Framework;

namespace DrICL.Tests.Kernels;

public class Bf16Tests
{
    // The vector path of FromFloats (32 at a time) must round every value exactly as FromFloat does: to nearest, ties
    // to even, overflow to infinity, NaN kept NaN, subnormals and signed zeros included; the tail runs FromFloat itself.
    static float[] Values()
    {
        var rng = new Random(5);
        var special = new[] { 0f, -0f, 1f, -1f, float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue,
            float.Epsilon, -float.Epsilon, 1e-40f, BitConverter.UInt32BitsToSingle(0x3F808000), BitConverter.UInt32BitsToSingle(0x3F818000),
            BitConverter.UInt32BitsToSingle(0x3F80FFFF), BitConverter.UInt32BitsToSingle(0x7F7FFFFF), BitConverter.UInt32BitsToSingle(0x7FC00001) };
        return special.Concat(Enumerable.Range(0, 4000).Select(_ => BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)))).ToArray();
    }

    [Test]
    public void FromFloatsRoundsLikeFromFloat()
    {
        var values = Values();
        var rounded = new ushort[values.Length];
        Bf16.FromFloats(values, rounded);
        for (int i = 0; i < values.Length; i++)
            Assert.That(rounded[i], Is.EqualTo(Bf16.FromFloat(values[i])), $"value {i}: bits {BitConverter.SingleToUInt32Bits(values[i]):X8}");
        Assert.That(Bf16.ToFloat(rounded[13]), Is.EqualTo(1f), "0x3F808000 is a tie: to even, down");
        Assert.That(Bf16.ToFloat(rounded[14]), Is.EqualTo(BitConverter.UInt32BitsToSingle(0x3F820000)), "0x3F818000 is a tie: to even, up");
    }

    // RoundTo stores what FromFloat gives and leaves each value as its bf16 widened back (NaN compared by its bits).
    [Test]
    public void RoundToStoresAndKeepsTheRoundedValues()
    {
        var values = Values();
        var original = values.ToArray();
        var rounded = new ushort[values.Length];
        Bf16.RoundTo(values, rounded);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.That(rounded[i], Is.EqualTo(Bf16.FromFloat(original[i])), $"value {i}: bits {BitConverter.SingleToUInt32Bits(original[i]):X8}");
            Assert.That(BitConverter.SingleToUInt32Bits(values[i]), Is.EqualTo(BitConverter.SingleToUInt32Bits(Bf16.ToFloat(rounded[i]))), $"value {i} left in place");
        }
    }
}
