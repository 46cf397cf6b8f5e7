using DrICL.Kernels.Cpu;
using DrICL.Kernels.Profiling;
using NUnit.Framework;

namespace DrICL.Tests.Kernels.Profiling;

/// <summary>The roofs: measured once per machine and device, then read from the cache; any device measured through its own ops.</summary>
public class MachinePeaksTests
{
    [Test]
    public void PeaksAreMeasuredOnceThenCached()
    {
        var dir = Directory.CreateTempSubdirectory("dricl-peaks-").FullName;
        try
        {
            var log = new List<string>();
            var first = MachinePeaks.For(CpuDevice.Instance, dir, log.Add);
            var second = MachinePeaks.For(CpuDevice.Instance, dir, log.Add);
            Assert.That(log, Has.Count.EqualTo(1).And.Some.StartsWith("measuring the peaks of cpu"));
            Assert.That(second, Is.EqualTo(first));
            Assert.That(first.GflopPerS, Is.Positive);
            Assert.That(first.GbPerS, Is.Positive);
            Assert.That(first.Compute, Does.StartWith("fp32 FMA"));
            Assert.That(first.Memory, Does.StartWith("triad"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void AnyDeviceIsMeasuredThroughItsOwnGemmAndCopy()
    {
        var (gflops, gemm) = PeakBenchmarks.DeviceGemm(CpuDevice.Instance, n: 128);
        var (gbps, copy) = PeakBenchmarks.DeviceCopy(CpuDevice.Instance, floats: 1 << 16);
        Assert.That(gflops, Is.Positive);
        Assert.That(gbps, Is.Positive);
        Assert.That(gemm, Is.EqualTo("GEMM 128x128x128 on cpu"));
        Assert.That(copy, Is.EqualTo("copy 0.25 MiB on cpu"));
    }

    [Test]
    public void TheBoundIsTheSlowerRoof()
    {
        var peaks = new MachinePeaks(100, 10, "fma", "triad");                  // ridge at 10 FLOP/B
        Assert.That(peaks.BoundSeconds(new OpCost(1_000_000, 1_000)), Is.EqualTo(1e-5).Within(1e-15));   // compute-bound
        Assert.That(peaks.BoundSeconds(new OpCost(1_000, 1_000_000)), Is.EqualTo(1e-4).Within(1e-15));   // memory-bound
    }
}
