namespace DrICL.Kernels.Profiling;

/// <summary>
/// How a profiled device puts timestamps on its work. Mark is called before and after every op and at every
/// range boundary, in the order the host issues them, and must not wait for the device: a GPU records an event
/// on its stream (ILGPU: AcceleratorStream.AddProfilingMarker) and returns its handle. Resolve is called when a
/// step's outermost range closes (and when the profile ends); it may wait for the device, then turns the marks
/// into microseconds since the timer was created. So a GPU step is timed without a synchronize per op.
/// </summary>
public interface IDeviceTimer
{
    /// <summary>What the trace says the times are, e.g. "host wall clock" or "CUDA events on stream 0".</summary>
    string Name { get; }

    long Mark();

    void Resolve(ReadOnlySpan<long> marks, Span<double> microseconds);
}

/// <summary>A device that times its own work (a GPU with events). Devices that are not one are timed by the host's wall clock.</summary>
public interface ITimedDevice
{
    IDeviceTimer CreateTimer();
}

/// <summary>
/// The CPU's timer: Stopwatch ticks. CPU ops run to completion before they return, so the host's wall
/// clock around an op is the op's time.
/// </summary>
public sealed class WallClockTimer : IDeviceTimer
{
    readonly long origin = System.Diagnostics.Stopwatch.GetTimestamp();

    public string Name => "host wall clock";

    public long Mark() => System.Diagnostics.Stopwatch.GetTimestamp();

    public void Resolve(ReadOnlySpan<long> marks, Span<double> microseconds)
    {
        double scale = 1e6 / System.Diagnostics.Stopwatch.Frequency;
        for (int i = 0; i < marks.Length; i++) microseconds[i] = (marks[i] - origin) * scale;
    }
}
