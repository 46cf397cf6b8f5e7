using System.Runtime.Intrinsics;

namespace DrICL.Model.Inference;

/// <summary>
/// RoPE for inference (rotate_half convention: dimension i pairs with i + D/2), from a table of the D/2
/// inverse frequencies, with sin and cos precomputed for every position of the context.
/// </summary>
public sealed unsafe class RotaryTable
{
    readonly float[] cos, sin;  // [positions, D/2]
    readonly int half;

    public RotaryTable(float[] inverseFrequencies, int positions)
    {
        half = inverseFrequencies.Length;
        cos = new float[positions * half];
        sin = new float[positions * half];
        for (int pos = 0; pos < positions; pos++)
            for (int i = 0; i < half; i++)
            {
                float angle = pos * inverseFrequencies[i];
                cos[pos * half + i] = (float)Math.Cos(angle);
                sin[pos * half + i] = (float)Math.Sin(angle);
            }
    }

    // x: [heads, 2*half] at position pos, rotated in place
    public void Rotate(float* x, int heads, int pos)
    {
        fixed (float* c0 = cos, s0 = sin)
        {
            float* c = c0 + (nint)pos * half, s = s0 + (nint)pos * half;
            for (int h = 0; h < heads; h++)
            {
                float* x0 = x + (nint)h * 2 * half, x1 = x0 + half;
                int i = 0;
                // 8 pairs at a time; separate multiplies and subtractions (no FMA), so the same floats as the scalar tail.
                if (Vector256.IsHardwareAccelerated)
                    for (; i + 8 <= half; i += 8)
                    {
                        Vector256<float> a = Vector256.Load(x0 + i), b = Vector256.Load(x1 + i), ci = Vector256.Load(c + i), si = Vector256.Load(s + i);
                        (a * ci - b * si).Store(x0 + i);
                        (b * ci + a * si).Store(x1 + i);
                    }
                for (; i < half; i++)
                {
                    float a = x0[i], b = x1[i];
                    x0[i] = a * c[i] - b * s[i];
                    x1[i] = b * c[i] + a * s[i];
                }
            }
        }
    }
}
