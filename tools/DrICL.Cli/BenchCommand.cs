using System.CommandLine;

namespace DrICL.Cli;

/// <summary><c>dricl bench</c>: throughput measurements, one subcommand per component.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Measure throughput");
        bench.Subcommands.Add(CpuBench.Create());
        bench.Subcommands.Add(CudaBench.Create());
        bench.Subcommands.Add(TokenizerBench.CreateCommand());
        bench.Subcommands.Add(ProfilerBench.Create());
        bench.Subcommands.Add(DecodeBench.Create());
        return bench;
    }
}
