// SwiGLU, fast path. Elementwise and memory-bound, so the only goals are one trip through memory and
// SIMD math: each core takes a range of elements and works through it in L1-sized strips, running the
// few TensorPrimitives passes (sigmoid, products) of the formula on a strip while it is still in cache.

using System.Numerics.Tensors;

namespace DrICL.Kernels.Cpu;

public static partial class SwiGlu
{
    const int Strip = 2048;  // floats per strip: the five or six 8 KB strips of one step stay in L1/L2

    // gate, up: [N] -> h: [N]
    public static unsafe void Forward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> h)
    {
        int n = h.Length;
        Work.Need(gate.Length, n, nameof(gate)); Work.Need(up.Length, n, nameof(up));
        fixed (float* pg = gate, pu = up, ph = h)
        {
            nint gs = (nint)pg, us = (nint)pu, hs = (nint)ph;
            Work.For((n + Strip - 1) / Strip, 3 * Strip, (s0, s1) =>
            {
                for (int i = s0 * Strip; i < Math.Min(n, s1 * Strip); i += Strip)
                {
                    int w = Math.Min(Strip, n - i);
                    ForwardSerial(new ReadOnlySpan<float>((float*)gs + i, w), new ReadOnlySpan<float>((float*)us + i, w), new Span<float>((float*)hs + i, w));
                }
            });
        }
    }

    // gate, up: [N] -> h: [N] on the calling thread (Gemm.ProjectSwiGlu runs it on each row panel it packs).
    internal static void ForwardSerial(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> h)
    {
        TensorPrimitives.Sigmoid(gate, h);
        TensorPrimitives.Multiply(gate, h, h);
        TensorPrimitives.Multiply(h, up, h);
    }

    // dh: [N] -> dgate, dup: [N]. With s = sigmoid(g): dup = dh * g * s, dgate = dh * up * s * (1 + g * (1 - s)).
    public static unsafe void Backward(ReadOnlySpan<float> dh, ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dgate, Span<float> dup)
    {
        int n = dh.Length;
        Work.Need(gate.Length, n, nameof(gate)); Work.Need(up.Length, n, nameof(up));
        Work.Need(dgate.Length, n, nameof(dgate)); Work.Need(dup.Length, n, nameof(dup));
        fixed (float* pdh = dh, pg = gate, pu = up, pdg = dgate, pdu = dup)
        {
            nint dhs = (nint)pdh, gs = (nint)pg, us = (nint)pu, dgs = (nint)pdg, dus = (nint)pdu;
            Work.For((n + Strip - 1) / Strip, 5 * Strip, (s0, s1) =>
            {
                Span<float> s = stackalloc float[Strip];
                for (int i = s0 * Strip; i < Math.Min(n, s1 * Strip); i += Strip)
                {
                    int w = Math.Min(Strip, n - i);
                    var d = new ReadOnlySpan<float>((float*)dhs + i, w);
                    var g = new ReadOnlySpan<float>((float*)gs + i, w);
                    var dg = new Span<float>((float*)dgs + i, w);
                    var du = new Span<float>((float*)dus + i, w);
                    var si = s[..w];
                    TensorPrimitives.Sigmoid(g, si);
                    TensorPrimitives.Multiply(d, g, du);
                    TensorPrimitives.Multiply(du, si, du);
                    TensorPrimitives.Subtract(1f, si, dg);
                    TensorPrimitives.MultiplyAdd(dg, g, 1f, dg);
                    TensorPrimitives.Multiply(dg, si, dg);
                    TensorPrimitives.Multiply(dg, new ReadOnlySpan<float>((float*)us + i, w), dg);
                    TensorPrimitives.Multiply(dg, d, dg);
                }
            });
        }
    }
}
