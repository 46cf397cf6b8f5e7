using ILGPU;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Elementwise ops: t = value, y = a + b, dst += src, t *= factor. One thread per element,
/// auto-grouped launches over Index1D (tensors hold at most 2^31 - 1 floats, so the index fits an int).
/// Copies need no kernel: the device copies views on its stream.
/// </summary>
public static class ElementwiseKernels
{
    // t: [n] overwritten
    public static void Fill(Index1D i, ArrayView<float> t, float value) => t[i] = value;

    // a, b: [n] -> y: [n]
    public static void Add(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y) => y[i] = a[i] + b[i];

    // dst: [n] += src: [n]
    public static void Accumulate(Index1D i, ArrayView<float> dst, ArrayView<float> src) => dst[i] += src[i];

    // t: [n] in place
    public static void Scale(Index1D i, ArrayView<float> t, float factor) => t[i] *= factor;
}
