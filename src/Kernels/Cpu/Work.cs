namespace DrICL.Kernels.Cpu;

/// <summary>
/// Splits a loop over independent items into one contiguous range per core, or runs it inline when the
/// whole job is too small to pay for waking the thread pool (which costs microseconds).
/// </summary>
internal static class Work
{
    const long MinimumPerThread = 1 << 15;  // floats touched per thread below which threading does not pay

    public static void For(int count, long floatsPerItem, Action<int, int> range)
    {
        if (count <= 0) return;
        long threads = Math.Min(Math.Min(Environment.ProcessorCount, count), count * floatsPerItem / MinimumPerThread);
        if (threads <= 1)
        {
            range(0, count);
            return;
        }
        int parts = (int)threads;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts },
            t => range((int)((long)count * t / parts), (int)((long)count * (t + 1) / parts)));
    }

    /// <summary>Throws unless a buffer holds at least the floats (or ids) a kernel is about to touch through a pointer.</summary>
    public static void Need(int length, long needed, string name)
    {
        if (length < needed) throw new ArgumentException($"{name} holds {length} elements, the kernel needs {needed}");
    }
}
