namespace DrICL.Kernels.Cpu;

/// <summary>
/// Rotary position embedding, Hugging Face rotate_half convention: dimension i pairs with i + D/2,
/// inv_freq_i = theta^(-2i/D), angle = pos * inv_freq_i. Inverse rotates by -angle, which is the
/// backward pass (a rotation's transpose is its inverse).
/// </summary>
public static partial class Rope
{
    // x: [B,T,H,D] in place, positions: [B,T]
    public static void Reference(Span<float> x, ReadOnlySpan<int> positions, int b, int t, int h, int d, float theta, bool inverse)
    {
        int half = d / 2;
        for (int bt = 0; bt < b * t; bt++)
        {
            int pos = positions[bt];
            for (int head = 0; head < h; head++)
            {
                int o = (bt * h + head) * d;
                for (int i = 0; i < half; i++)
                {
                    var (sin, cos) = Angle(pos, i, d, theta);
                    if (inverse) sin = -sin;
                    float x0 = x[o + i], x1 = x[o + i + half];
                    x[o + i] = x0 * cos - x1 * sin;
                    x[o + i + half] = x1 * cos + x0 * sin;
                }
            }
        }
    }

    /// <summary>sin and cos of pos * theta^(-2i/D), with inv_freq rounded to float32 as Hugging Face does.</summary>
    public static (float Sin, float Cos) Angle(int pos, int i, int d, float theta)
    {
        float invFreq = (float)(1.0 / Math.Pow(theta, 2.0 * i / d));
        float angle = pos * invFreq;
        return ((float)Math.Sin(angle), (float)Math.Cos(angle));
    }
}
