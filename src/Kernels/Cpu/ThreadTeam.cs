// A fixed team of threads for the batch-1 decode loop, where each token runs ~4 short parallel steps per
// layer (tens of microseconds each). Parallel.For would allocate and wake pool threads per step; here the
// workers are started once, spin briefly between steps (the next one usually follows within microseconds)
// and only then sleep on a semaphore.
//
// A step is cut into chunks that members claim from a shared counter, and the caller claims chunks too.
// So no one waits for a member that has not woken up (on a loaded machine a worker may not run for
// milliseconds): the caller simply does that share itself, and waits only for chunks already being worked
// on. The counter is one 64-bit word: the step's generation, its chunk count and the next unclaimed chunk.
// A member that read the counter of a finished step can then never claim a chunk of the next one: its
// compare-and-swap fails once the generation moves on, and the count it compares against is the one of
// the step it read. (With the count in a field of its own, a member could read a finished step's counter,
// then the next step's larger count, and claim a chunk of the new job before the new generation was
// published: that chunk ran twice.) Run allocates nothing.

namespace DrICL.Kernels.Cpu;

/// <summary>One parallel step cut into chunks: Execute(i, n) does chunk i of n (disjoint from the others).</summary>
public interface ITeamJob
{
    void Execute(int chunk, int chunks);
}

public sealed class ThreadTeam : IDisposable
{
    const int SpinRounds = 10000;  // ~1.5 ms of Thread.SpinWait(1) (150 ns each) before a worker sleeps

    sealed class Worker
    {
        public readonly SemaphoreSlim Wake = new(0);
        public int Sleeping;
    }

    readonly Worker[] workers;
    ITeamJob? job;
    int done;
    long state;  // generation << 32 | chunk count << 16 | next unclaimed chunk
    const int MaxChunks = 0xFFFF;
    volatile bool disposed;

    public int Size { get; }

    public ThreadTeam(int size)
    {
        Size = Math.Max(1, size);
        workers = new Worker[Size - 1];
        for (int i = 0; i < workers.Length; i++)
        {
            var w = workers[i] = new Worker();
            new Thread(() => Loop(w)) { IsBackground = true, Name = $"decode-{i + 1}" }.Start();
        }
    }

    /// <summary>Runs chunks 0..count-1 of work across the team and returns when all are done.</summary>
    public void Run(ITeamJob work, int count)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxChunks);
        if (Size == 1 || count <= 1)
        {
            for (int i = 0; i < count; i++) work.Execute(i, count);
            return;
        }
        job = work;
        Volatile.Write(ref done, 0);
        long generation = (Volatile.Read(ref state) >> 32) + 1;
        Interlocked.Exchange(ref state, generation << 32 | (long)count << 16);
        foreach (var w in workers)
            if (Interlocked.Exchange(ref w.Sleeping, 0) == 1) w.Wake.Release();
        Claim(generation);
        var spin = new SpinWait();
        while (Volatile.Read(ref done) != count) spin.SpinOnce(sleep1Threshold: -1);
    }

    // Claims and runs chunks of the given generation's step until none are left. The job read between the
    // counter and a successful claim is that step's: the caller publishes the next job only after every chunk
    // of this one is claimed.
    void Claim(long generation)
    {
        while (true)
        {
            long s = Volatile.Read(ref state);
            if (s >> 32 != generation) return;
            int n = (int)(s >> 16) & MaxChunks, i = (int)s & MaxChunks;
            if (i >= n) return;
            var work = job!;
            if (Interlocked.CompareExchange(ref state, s + 1, s) != s) continue;
            work.Execute(i, n);
            Interlocked.Increment(ref done);
        }
    }

    void Loop(Worker w)
    {
        long seen = 0;
        while (true)
        {
            int rounds = 0;
            while (Volatile.Read(ref state) >> 32 == seen && !disposed)
            {
                if (++rounds < SpinRounds)
                {
                    Thread.SpinWait(1);
                    continue;
                }
                Interlocked.Exchange(ref w.Sleeping, 1);
                // A step may have started between the last check and the flag: then either we take the flag
                // back (nobody released us) or Run already did and we consume its release.
                if (Volatile.Read(ref state) >> 32 != seen || disposed)
                {
                    if (Interlocked.Exchange(ref w.Sleeping, 0) == 0) w.Wake.Wait();
                    break;
                }
                w.Wake.Wait();
                rounds = 0;
            }
            if (disposed) return;
            seen = Volatile.Read(ref state) >> 32;
            Claim(seen);
        }
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var w in workers)
            if (Interlocked.Exchange(ref w.Sleeping, 0) == 1) w.Wake.Release();
    }
}
