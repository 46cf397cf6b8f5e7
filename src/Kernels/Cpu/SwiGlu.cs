namespace DrICL.Kernels.Cpu;

/// <summary>The SwiGLU gate: h = silu(gate) * up, silu(g) = g * sigmoid(g).</summary>
public static partial class SwiGlu
{
    // gate, up: [N] -> h: [N]
    public static void ForwardReference(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> h)
    {
        for (int i = 0; i < h.Length; i++)
        {
            float s = 1f / (1f + MathF.Exp(-gate[i]));
            h[i] = gate[i] * s * up[i];
        }
    }

    // dh: [N] -> dgate, dup: [N]. d silu(g)/dg = s * (1 + g * (1 - s)).
    public static void BackwardReference(ReadOnlySpan<float> dh, ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dgate, Span<float> dup)
    {
        for (int i = 0; i < dh.Length; i++)
        {
            float g = gate[i], s = 1f / (1f + MathF.Exp(-g));
            dup[i] = dh[i] * g * s;
            dgate[i] = dh[i] * up[i] * s * (1f + g * (1f - s));
        }
    }
}
