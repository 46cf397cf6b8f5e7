using ILGPU;
using ILGPU.Algorithms;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Rotary position embedding in place, Hugging Face rotate_half convention. One thread per
/// (token, head, pair i &lt; D/2): dimension i pairs with i + D/2 and rotates by angle = pos * invFreq[i].
/// The D/2 inverse frequencies come from the host as float32 (any frequency scaling already applied), and
/// sin/cos are taken in double of the float angle, exactly as the CPU reference does: angles reach tens of
/// thousands of radians, where float sin would drift. inverse rotates by -angle (the backward).
/// </summary>
public static class RopeKernels
{
    // x: [B*T,H,D] in place, positions: [B*T], invFreq: [D/2]; index: B*T*H*(D/2)
    public static void Apply(Index1D idx, ArrayView<float> x, ArrayView<int> positions, ArrayView<float> invFreq, int heads, int d, int inverse)
    {
        int half = d / 2, pair = idx;
        int i = pair % half;
        int tokenHead = pair / half;
        int token = tokenHead / heads;

        float angle = positions[token] * invFreq[i];
        float sin = (float)XMath.Sin((double)angle), cos = (float)XMath.Cos((double)angle);
        if (inverse != 0) sin = -sin;

        long p = (long)tokenHead * d;
        float x0 = x[p + i], x1 = x[p + i + half];
        x[p + i] = x0 * cos - x1 * sin;
        x[p + i + half] = x1 * cos + x0 * sin;
    }
}
