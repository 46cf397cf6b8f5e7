using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace DrICL.Kernels.Profiling;

/// <summary>
/// Micro-benchmarks for the two roofs of the roofline, measured on this machine rather than taken from a
/// data sheet. Each figure is the best of many short timed repeats after a warm-up: a peak is what the
/// hardware can do, and short runs are the likeliest to fall between other processes' time slices.
/// <para>
/// CPU compute: every core runs independent chains of fused multiply-adds on the widest hardware vector
/// (Vector512 where accelerated, else Vector&lt;float&gt;; enough chains to cover the FMA latency on each
/// port), 2 FLOPs per lane per FMA. CPU memory: a
/// STREAM-style triad a = b + s·c over three arrays far larger than the caches, counted as STREAM counts it
/// (12 bytes an element: two reads, one write; the write-allocate read is not counted).
/// </para>
/// <para>
/// Any other device (a GPU) is measured through the IDevice itself, so it works for every backend: a large
/// square GEMM (the fastest thing the device does) and a device-to-device copy (8 bytes an element), the
/// device's queue drained before and after by downloading one row.
/// </para>
/// </summary>
public static class PeakBenchmarks
{
    const int Chains = 12, Repeats = 3, CpuRepeats = 30;

    /// <summary>fp32 FMA GFLOP/s with every core busy, and a description of how it was measured.</summary>
    public static (double GflopPerS, string How) CpuFma(long iterationsPerThread = 1_000_000)
    {
        int threads = Environment.ProcessorCount;
        bool wide = Vector512.IsHardwareAccelerated;
        int lanes = wide ? Vector512<float>.Count : Vector<float>.Count;
        double best = double.MaxValue;
        for (int r = 0; r <= CpuRepeats; r++)
        {
            long iterations = r == 0 ? iterationsPerThread / 10 : iterationsPerThread;   // the first run warms up the JIT
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
            {
                float sink = wide ? Fma512(iterations) : FmaVector(iterations);
                if (sink == 42f) Console.Write("");   // keeps the loop's result alive
            });
            if (r > 0) best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        double flops = 2.0 * lanes * Chains * iterationsPerThread * threads;
        return (flops / best / 1e9, $"fp32 FMA, {threads} threads x {Chains} chains of {(wide ? "Vector512" : $"Vector<float> ({lanes} lanes)")}");
    }

    /// <summary>Triad GB/s over three arrays of the given length (64 MiB each by default), rows split over the cores.</summary>
    public static (double GbPerS, string How) CpuTriad(int length = 1 << 24)
    {
        var a = new float[length];
        var b = new float[length];
        var c = new float[length];
        b.AsSpan().Fill(1f);
        c.AsSpan().Fill(2f);
        int threads = Environment.ProcessorCount, chunk = (length + threads - 1) / threads;
        double best = double.MaxValue;
        for (int r = 0; r <= CpuRepeats; r++)
        {
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                int start = t * chunk, count = Math.Min(chunk, length - start);
                if (count > 0) TensorPrimitives.MultiplyAdd(c.AsSpan(start, count), 3f, b.AsSpan(start, count), a.AsSpan(start, count));
            });
            if (r > 0) best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return (12.0 * length / best / 1e9, $"triad a = b + s*c, 3 x {length * 4L >> 20} MiB, {threads} threads");
    }

    /// <summary>GFLOP/s of an n×n×n GEMM through the device.</summary>
    public static (double GflopPerS, string How) DeviceGemm(IDevice device, int n = 4096)
    {
        var a = device.Zeros(n, n);
        var b = device.Zeros(n, n);
        var c = device.Zeros(n, n);
        device.Fill(a, 1f);
        device.Fill(b, 0.5f);
        double seconds = Best(device, c, () => device.MatMul(a, b, c, transA: false, transB: false, accumulate: false));
        return (2.0 * n * n * n / seconds / 1e9, $"GEMM {n}x{n}x{n} on {device.Name}");
    }

    /// <summary>GB/s of a device-to-device copy of the given number of floats (read once, written once).</summary>
    public static (double GbPerS, string How) DeviceCopy(IDevice device, int floats = 1 << 26)
    {
        int columns = 1024, rows = Math.Max(1, floats / columns);
        var src = device.Zeros(rows, columns);
        var dst = device.Zeros(rows, columns);
        device.Fill(src, 1f);
        double seconds = Best(device, dst, () => device.Copy(src, dst));
        return (8.0 * rows * columns / seconds / 1e9, $"copy {4.0 * rows * columns / (1 << 20):0.##} MiB on {device.Name}");
    }

    // Best time of one run, the queue drained (one row downloaded) before the clock starts and before it stops.
    static double Best(IDevice device, Tensor written, Action run)
    {
        var row = new float[written.Columns];
        void Drain() => device.Download(written.SliceRows(0, 1), row);
        run();
        Drain();
        double best = double.MaxValue;
        for (int r = 0; r < Repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            run();
            Drain();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    static float Fma512(long iterations)
    {
        var m = Vector512.Create(0.9999999f);
        var add = Vector512.Create(1e-7f);
        Vector512<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, add); a1 = Vector512.FusedMultiplyAdd(a1, m, add);
            a2 = Vector512.FusedMultiplyAdd(a2, m, add); a3 = Vector512.FusedMultiplyAdd(a3, m, add);
            a4 = Vector512.FusedMultiplyAdd(a4, m, add); a5 = Vector512.FusedMultiplyAdd(a5, m, add);
            a6 = Vector512.FusedMultiplyAdd(a6, m, add); a7 = Vector512.FusedMultiplyAdd(a7, m, add);
            a8 = Vector512.FusedMultiplyAdd(a8, m, add); a9 = Vector512.FusedMultiplyAdd(a9, m, add);
            a10 = Vector512.FusedMultiplyAdd(a10, m, add); a11 = Vector512.FusedMultiplyAdd(a11, m, add);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    // The hardware's preferred width (256 bits with AVX2, 128 with Neon) where Vector512 is not accelerated.
    static float FmaVector(long iterations)
    {
        var m = new Vector<float>(0.9999999f);
        var add = new Vector<float>(1e-7f);
        Vector<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector.FusedMultiplyAdd(a0, m, add); a1 = Vector.FusedMultiplyAdd(a1, m, add);
            a2 = Vector.FusedMultiplyAdd(a2, m, add); a3 = Vector.FusedMultiplyAdd(a3, m, add);
            a4 = Vector.FusedMultiplyAdd(a4, m, add); a5 = Vector.FusedMultiplyAdd(a5, m, add);
            a6 = Vector.FusedMultiplyAdd(a6, m, add); a7 = Vector.FusedMultiplyAdd(a7, m, add);
            a8 = Vector.FusedMultiplyAdd(a8, m, add); a9 = Vector.FusedMultiplyAdd(a9, m, add);
            a10 = Vector.FusedMultiplyAdd(a10, m, add); a11 = Vector.FusedMultiplyAdd(a11, m, add);
        }
        return Vector.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
