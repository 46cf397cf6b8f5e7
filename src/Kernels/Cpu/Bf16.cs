using System.Runtime.Intrinsics;

namespace DrICL.Kernels.Cpu;

/// <summary>
/// bfloat16: the upper 16 bits of a float32 (same exponent range, 8 bits of mantissa). Widening is a
/// shift; narrowing rounds to nearest, ties to even, as PyTorch does, and keeps NaNs NaN.
/// </summary>
public static class Bf16
{
    public static float ToFloat(ushort b) => BitConverter.Int32BitsToSingle(b << 16);

    public static ushort FromFloat(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>Widens bf16 values to float32, 16 at a time (zero-extend each to 32 bits, shift into the upper half).</summary>
    public static void ToFloats(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException($"{destination.Length} floats for {source.Length} bf16 values");
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= source.Length; i += 16)
            {
                var wide = Vector512.WidenLower(Vector512.Create(Vector256.Create(source.Slice(i, 16)), Vector256<ushort>.Zero));
                (wide << 16).AsSingle().CopyTo(destination.Slice(i, 16));
            }
        for (; i < source.Length; i++) destination[i] = ToFloat(source[i]);
    }

    public static void FromFloats(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException($"{destination.Length} bf16 slots for {source.Length} floats");
        for (int i = 0; i < source.Length; i++) destination[i] = FromFloat(source[i]);
    }
}
