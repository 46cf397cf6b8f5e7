using DrICL.Kernels;
using DrICL.Kernels.Cuda;
using NUnit.Framework;

namespace DrICL.Tests.Cuda;

/// <summary>
/// Base of the fixtures that need a GPU: opens GPU 0 in the given precision once, and skips every test
/// with the reason when this machine has no CUDA driver (or no usable device).
/// </summary>
[Category("Cuda")]
[NonParallelizable]
public abstract class GpuFixture(ComputePrecision precision)
{
    CudaDevice? gpu;
    string? unavailable;

    protected CudaDevice Gpu => gpu!;

    [OneTimeSetUp]
    public void Open()
    {
        try
        {
            gpu = CudaDevice.Open(0, precision);
            TestContext.Progress.WriteLine($"{GetType().Name} on {gpu}");
        }
        catch (Exception e) when (e is DllNotFoundException or CudaException)
        {
            unavailable = e.Message;
        }
    }

    [OneTimeTearDown]
    public void Close() => gpu?.Dispose();

    [SetUp]
    public void RequireGpu()
    {
        if (gpu is null) Assert.Ignore($"no CUDA driver: {unavailable}");
    }
}
