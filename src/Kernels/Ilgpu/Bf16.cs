using ILGPU;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// fp32 -> bf16 for the bf16 attention kernels. ILGPU has no bf16 type (ILGPU.Half is
/// fp16), so a bf16 is its 16-bit pattern in a ushort, and an mma fragment register holds two of them in a
/// uint: the lower row or column index in bits 0..15. Used on the host too (tests round with it).
/// </summary>
public static class Bf16
{
    /// <summary>fp32 -> bf16 bits (in the low 16 bits), rounding to nearest even; NaN stays a (quiet) NaN rather than rounding into infinity.</summary>
    public static uint Bits(float x)
    {
        uint u = Interop.FloatAsInt(x);
        if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
        return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    }

    /// <summary>x rounded to the nearest bf16 (ties to even), kept as a float: what a bf16 matrix unit reads.</summary>
    public static float Round(float x) => Low(Bits(x));

    /// <summary>Two floats as one register of two bf16: lo in bits 0..15, hi in 16..31.</summary>
    public static uint Pack(float lo, float hi) => Bits(lo) | (Bits(hi) << 16);

    /// <summary>The low (lower index) bf16 of a register, as the float it represents exactly.</summary>
    public static float Low(uint pair) => Interop.IntAsFloat(pair << 16);

    /// <summary>The high bf16 of a register, as a float.</summary>
    public static float High(uint pair) => Interop.IntAsFloat(pair & 0xffff0000u);
}
