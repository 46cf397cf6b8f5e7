using DrICL.Kernels.Profiling;
using ILGPU.Runtime;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Times IlgpuDevice's ops by ILGPU profiling markers on its stream (CUDA events on a GPU): Mark records one
/// without waiting for the device; Resolve waits for the marks it is given, reads each one's time from the
/// timer's first marker, and frees them. So a profiled GPU step is timed without a synchronize per op.
/// A mark resolved once keeps its time (a slice's end can be the next one's begin).
/// </summary>
sealed class StreamEventTimer(AcceleratorStream stream) : IDeviceTimer
{
    readonly ProfilingMarker origin = stream.AddProfilingMarker();
    readonly Dictionary<long, ProfilingMarker> recorded = [];
    readonly Dictionary<long, double> resolved = [];
    long next;

    public string Name => $"ILGPU profiling markers on {stream.Accelerator.Name}'s stream";

    public long Mark()
    {
        recorded[next] = stream.AddProfilingMarker();
        return next++;
    }

    public void Resolve(ReadOnlySpan<long> marks, Span<double> microseconds)
    {
        for (int i = 0; i < marks.Length; i++)
        {
            long id = marks[i];
            if (recorded.Remove(id, out var marker))
            {
                resolved[id] = marker.MeasureFrom(origin).TotalMicroseconds;
                marker.Dispose();
            }
            microseconds[i] = resolved[id];
        }
    }
}
