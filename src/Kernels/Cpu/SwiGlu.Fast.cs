// SwiGLU, fast path. Elementwise, so the goals are one trip through memory and cheap SIMD math: each core
// takes a range of elements and works through it in L1-sized strips. The forward computes
// h = g * sigmoid(g) * u sixteen at a time in one pass, with sigmoid from e = exp(-|g|), which never
// overflows: 1 / (1 + e) for g >= 0 and e / (1 + e) below. exp is SoftmaxExp (its argument is <= 0), about
// three times the speed of TensorPrimitives.Sigmoid, whose exp widens to double; the prefill's down
// projection runs this on every row panel it packs. The backward runs a few TensorPrimitives passes
// (sigmoid, products) on a strip while it is still in cache.

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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

    /// <summary>gate, up: [N] -> h: [N] on the calling thread (a decode step's one row; Gemm.ProjectSwiGlu runs it on each row panel it packs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // straight to optimized code: unoptimized Vector512 calls are far slower than the TensorPrimitives they replace
    public static unsafe void ForwardSerial(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> h)
    {
        int n = h.Length, i = 0;
        Work.Need(gate.Length, n, nameof(gate)); Work.Need(up.Length, n, nameof(up));  // the vector loop reads through pointers
        if (Vector512.IsHardwareAccelerated)
            fixed (float* pg = gate, pu = up, ph = h)
                for (; i + 16 <= n; i += 16)
                {
                    var g = Vector512.Load(pg + i);
                    var e = SoftmaxExp.Of(-Vector512.Abs(g));
                    var sigmoid = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(g, Vector512<float>.Zero), Vector512<float>.One, e) / (Vector512<float>.One + e);
                    (g * sigmoid * Vector512.Load(pu + i)).Store(ph + i);
                }
        if (i == n) return;
        var rest = h[i..];
        TensorPrimitives.Sigmoid(gate[i..], rest);
        TensorPrimitives.Multiply(gate[i..], rest, rest);
        TensorPrimitives.Multiply(rest, up[i..], rest);
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
