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

    /// <summary>Rounds float32 values to bf16 as FromFloat does, 32 at a time (a checkpoint not stored in bf16 is rounded this way when loaded as bf16).</summary>
    public static void FromFloats(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException($"{destination.Length} bf16 slots for {source.Length} floats");
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 32 <= source.Length; i += 32)
                Vector512.Narrow(Round(Vector512.Create(source.Slice(i, 16))), Round(Vector512.Create(source.Slice(i + 16, 16)))).CopyTo(destination.Slice(i, 32));
        for (; i < source.Length; i++) destination[i] = FromFloat(source[i]);
    }

    /// <summary>
    /// Rounds values to bf16 into destination, as FromFloats does, and replaces each value by its rounded value widened
    /// back (what the destination now holds), in one pass.
    /// </summary>
    public static void RoundTo(Span<float> values, Span<ushort> destination)
    {
        if (destination.Length < values.Length) throw new ArgumentException($"{destination.Length} bf16 slots for {values.Length} floats");
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 32 <= values.Length; i += 32)
            {
                var lo = Round(Vector512.Create(values.Slice(i, 16)));
                var hi = Round(Vector512.Create(values.Slice(i + 16, 16)));
                Vector512.Narrow(lo, hi).CopyTo(destination.Slice(i, 32));
                (lo << 16).AsSingle().CopyTo(values.Slice(i, 16));
                (hi << 16).AsSingle().CopyTo(values.Slice(i + 16, 16));
            }
        for (; i < values.Length; i++)
        {
            destination[i] = FromFloat(values[i]);
            values[i] = ToFloat(destination[i]);
        }
    }

    // FromFloat on sixteen lanes, each bf16 in the low half of its lane.
    static Vector512<uint> Round(Vector512<float> f)
    {
        var bits = f.AsUInt32();
        var rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) >> 16;
        return Vector512.ConditionalSelect(Vector512.IsNaN(f).AsUInt32(), (bits >> 16) | Vector512.Create(0x40u), rounded);
    }
}
