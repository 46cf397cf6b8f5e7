using DrICL.Cli;
using NUnit.Framework;

namespace DrICL.Tests.Ilgpu;

public class PtxasTests
{
    [Test]
    public void ReadsRegistersSpillsStackAndSharedMemory()
    {
        const string log = """
            ptxas info    : 0 bytes gmem
            ptxas info    : Compiling entry function 'Kernel_Forward' for 'sm_90'
            ptxas info    : Function properties for Kernel_Forward
                72 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads
            ptxas info    : Used 168 registers, 16384 bytes smem, 400 bytes cmem[0]
            """;
        var r = Ptxas.Parse(log);
        Assert.That(r, Is.EqualTo(new PtxasResources(Registers: 168, StackFrameBytes: 72, SpillStoreBytes: 8, SpillLoadBytes: 12, SharedBytes: 16384)));
        Assert.That(r.Spills, Is.True);
    }

    [Test]
    public void SharedMemoryIsZeroWhenPtxasDoesNotMentionIt()
    {
        var r = Ptxas.Parse("""
            ptxas info    : Function properties for Kernel_Fill
                0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
            ptxas info    : Used 9 registers
            """);
        Assert.That((r.Registers, r.SharedBytes, r.Spills), Is.EqualTo((9, 0, false)));
    }

    [Test]
    public void OutputWithoutASummaryIsAnError() =>
        Assert.Throws<FormatException>(() => Ptxas.Parse("ptxas fatal   : Unresolved extern function"));
}

public class PtxReportCliTests
{
    [Test]
    public void AnArchitectureWithoutTensorCoresIsAOneLineError()
    {
        var (exit, _, error) = CliRunner.Run("gpu", "ptx-report", "--arch", "sm_70");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim(), Is.EqualTo("error: --arch sm_70: expected sm_80, sm_86, sm_89 or sm_90 (the tensor-core kernels need sm_80 or newer)"));
    }
}
