using ILGPU;
using ILGPU.Algorithms;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// h = silu(gate) * up, silu(g) = g * sigmoid(g), and its backward. One thread per element.
/// d silu(g)/dg = s * (1 + g * (1 - s)) with s = sigmoid(g).
/// </summary>
public static class SwiGluKernels
{
    // gate, up: [n] -> h: [n]
    public static void Forward(Index1D i, ArrayView<float> gate, ArrayView<float> up, ArrayView<float> h)
    {
        float g = gate[i], s = 1f / (1f + XMath.Exp(-g));
        h[i] = g * s * up[i];
    }

    // dh: [n] -> dgate, dup: [n] overwritten
    public static void Backward(Index1D i, ArrayView<float> dh, ArrayView<float> gate, ArrayView<float> up, ArrayView<float> dgate, ArrayView<float> dup)
    {
        float g = gate[i], s = 1f / (1f + XMath.Exp(-g));
        dup[i] = dh[i] * g * s;
        dgate[i] = dh[i] * up[i] * s * (1f + g * (1f - s));
    }
}
