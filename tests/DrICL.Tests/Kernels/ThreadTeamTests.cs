using DrICL.Kernels.Cpu;
using NUnit.Framework;

namespace DrICL.Tests.Kernels;

public class ThreadTeamTests
{
    /// <summary>Counts the runs of each chunk, and the runs under a chunk count the job does not have.</summary>
    sealed class CountingJob(int chunks) : ITeamJob
    {
        public readonly int[] Runs = new int[chunks];
        public int Foreign;

        public void Execute(int chunk, int count)
        {
            if (count != Runs.Length || (uint)chunk >= (uint)count) Interlocked.Increment(ref Foreign);
            else Interlocked.Increment(ref Runs[chunk]);
        }
    }

    // Steps of 4 and 6 chunks back to back, as a decode's matvecs and attention alternate: a member that reads
    // the shared counter of a finished step just as the caller publishes the next one must not take the next
    // step's chunk 4 under the finished step's counter. (It did: the chunk ran twice, and Run either returned
    // while it was still running or hung with 7 of 6 chunks done, within a few thousand steps.)
    [Test]
    public void EveryChunkOfEveryStepRunsOnce()
    {
        const int steps = 2_000_000;
        using var team = new ThreadTeam(2);
        var jobs = new[] { new CountingJob(4), new CountingJob(6) };
        var run = Task.Factory.StartNew(() =>
        {
            for (int s = 0; s < steps; s++) team.Run(jobs[s & 1], jobs[s & 1].Runs.Length);
        }, TaskCreationOptions.LongRunning);
        Assert.That(run.Wait(TimeSpan.FromSeconds(60)), Is.True, "ThreadTeam.Run hung");
        foreach (var job in jobs)
        {
            Assert.That(job.Foreign, Is.Zero, $"chunks of the {job.Runs.Length}-chunk job ran under another count");
            Assert.That(job.Runs, Is.All.EqualTo(steps / 2), $"runs of each chunk of the {job.Runs.Length}-chunk job");
        }
    }
}
