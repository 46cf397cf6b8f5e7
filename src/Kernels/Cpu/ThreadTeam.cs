// A fixed team of threads for the batch-1 decode loop, where each token runs ~4 short parallel steps per
// layer (tens of microseconds each). Parallel.For would allocate a delegate and wake pool threads per
// step; here the workers are started once, spin briefly between steps (the next step usually follows in
// microseconds) and only then sleep on a semaphore. The caller is member 0 and runs its own share, so a
// team of n uses n - 1 extra threads. Run allocates nothing.

namespace DrICL.Kernels.Cpu;

/// <summary>One parallel step: member m of n does its share (disjoint from the others').</summary>
public interface ITeamJob
{
    void Execute(int member, int members);
}

public sealed class ThreadTeam : IDisposable
{
    const int SpinRounds = 2000;  // ~50 µs of Thread.SpinWait(20) before a worker sleeps

    sealed class Worker
    {
        public readonly SemaphoreSlim Wake = new(0);
        public int Sleeping;
    }

    readonly Worker[] workers;
    ITeamJob? job;
    int generation, pending;
    volatile bool disposed;

    public int Size { get; }

    public ThreadTeam(int size)
    {
        Size = Math.Max(1, size);
        workers = new Worker[Size - 1];
        for (int i = 0; i < workers.Length; i++)
        {
            var w = workers[i] = new Worker();
            int member = i + 1;
            new Thread(() => Loop(w, member)) { IsBackground = true, Name = $"decode-{member}" }.Start();
        }
    }

    /// <summary>Runs job on every member and returns when all are done.</summary>
    public void Run(ITeamJob work)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (Size == 1)
        {
            work.Execute(0, 1);
            return;
        }
        job = work;
        Volatile.Write(ref pending, Size - 1);
        Interlocked.Increment(ref generation);
        foreach (var w in workers)
            if (Interlocked.Exchange(ref w.Sleeping, 0) == 1) w.Wake.Release();
        work.Execute(0, Size);
        var spin = new SpinWait();
        while (Volatile.Read(ref pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
        job = null;
    }

    void Loop(Worker w, int member)
    {
        int seen = 0;
        while (true)
        {
            int rounds = 0;
            while (Volatile.Read(ref generation) == seen && !disposed)
            {
                if (++rounds < SpinRounds)
                {
                    Thread.SpinWait(20);
                    continue;
                }
                Interlocked.Exchange(ref w.Sleeping, 1);
                // A step may have started between the last check and the flag: then either we take the flag
                // back (nobody released us) or Run already did and we consume its release.
                if (Volatile.Read(ref generation) != seen || disposed)
                {
                    if (Interlocked.Exchange(ref w.Sleeping, 0) == 0) w.Wake.Wait();
                    break;
                }
                w.Wake.Wait();
                rounds = 0;
            }
            if (disposed) return;
            seen = Volatile.Read(ref generation);
            job!.Execute(member, Size);
            Interlocked.Decrement(ref pending);
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
