namespace DrICL.Kernels.Cpu;

/// <summary>
/// Rotary position embedding, Hugging Face rotate_half convention: dimension i pairs with i + D/2 and rotates
/// by angle = pos * inv_freq_i, the frequencies coming from RopeFrequencies (plain or Llama 3 scaled).
/// Inverse rotates by -angle, which is the backward pass (a rotation's transpose is its inverse).
/// </summary>
public static partial class Rope
{
    // x: [B,T,H,D] in place, positions: [B,T]
    public static void Reference(Span<float> x, ReadOnlySpan<int> positions, int b, int t, int h, int d, RopeFrequencies frequencies, bool inverse)
    {
        CheckHeadDim(d, frequencies);
        int half = d / 2;
        for (int bt = 0; bt < b * t; bt++)
        {
            int pos = positions[bt];
            for (int head = 0; head < h; head++)
            {
                int o = (bt * h + head) * d;
                for (int i = 0; i < half; i++)
                {
                    var (sin, cos) = Angle(pos, frequencies.Inverse[i]);
                    if (inverse) sin = -sin;
                    float x0 = x[o + i], x1 = x[o + i + half];
                    x[o + i] = x0 * cos - x1 * sin;
                    x[o + i + half] = x1 * cos + x0 * sin;
                }
            }
        }
    }

    /// <summary>sin and cos of the float32 angle pos * invFreq, taken in double (angles reach tens of thousands of radians).</summary>
    public static (float Sin, float Cos) Angle(int pos, float invFreq)
    {
        float angle = pos * invFreq;
        return ((float)Math.Sin(angle), (float)Math.Cos(angle));
    }

    static void CheckHeadDim(int d, RopeFrequencies frequencies)
    {
        if (frequencies.HeadDim != d) throw new ArgumentException($"{frequencies} cannot rotate heads of {d}");
    }
}
