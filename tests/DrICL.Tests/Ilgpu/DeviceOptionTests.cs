using System.Runtime.InteropServices;
using DrICL.Cli;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Ilgpu;
using NUnit.Framework;

namespace DrICL.Tests.Ilgpu;

/// <summary>`--device cpu|ilgpu-cpu|cuda[:N]` and `--precision`: what opens, and the one-line errors.</summary>
[Category("Gpu")]
public class DeviceOptionTests
{
    [Test]
    public void OpeningCudaWithoutADriverIsAOneLineCliError()
    {
        if (NativeLibrary.TryLoad("libcuda.so.1", out var handle))
        {
            NativeLibrary.Free(handle);
            Assert.Ignore("a CUDA driver is installed here");
        }
        var e = Assert.Throws<CliError>(() => DeviceOption.Open("cuda"));
        Assert.That(e!.Message, Does.StartWith("cannot open the CUDA device: ILGPU found no CUDA GPU").And.Not.Contain('\n'));
        Assert.That(Assert.Throws<CliError>(() => DeviceOption.Open("gpu"))!.Message, Does.Contain("use cpu, ilgpu-cpu, cuda or cuda:N"));
    }

    [Test]
    public void PrecisionIsCheckedBeforeAnyDeviceOpens()
    {
        Assert.That(Assert.Throws<CliError>(() => DeviceOption.Open("cpu", "bf16"))!.Message, Does.Contain("fp32 only"));
        Assert.That(Assert.Throws<CliError>(() => DeviceOption.Open("cuda", "fp8"))!.Message, Does.Contain("unknown --precision 'fp8'"));
        Assert.That(Assert.Throws<CliError>(() => DeviceOption.Open("ilgpu-cpu", "fp8"))!.Message, Does.Contain("unknown --precision 'fp8'"));
        Assert.That(DeviceOption.Open("cpu", "fp32"), Is.SameAs(CpuDevice.Instance));
    }

    [Test]
    public void IlgpuCpuComputesInFp32UnlessAskedForBf16()
    {
        using (var device = (IlgpuDevice)DeviceOption.Open("ilgpu-cpu"))
            Assert.That((device.Name, device.Precision, device.UsesCublas), Is.EqualTo(("ilgpu-cpu", ComputePrecision.Fp32, false)));
        using (var device = (IlgpuDevice)DeviceOption.Open("ilgpu-cpu", "bf16"))
            Assert.That(device.Precision, Is.EqualTo(ComputePrecision.Bf16));
    }
}
