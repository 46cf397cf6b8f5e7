using System.CommandLine;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;

namespace DrICL.Cli;

/// <summary>The `--device cpu|cuda` option shared by every command that runs the model.</summary>
public static class DeviceOption
{
    public static Option<string> Create() => new("--device")
    {
        Description = "where to run: cpu (default) or cuda",
        DefaultValueFactory = _ => "cpu",
    };

    public static IDevice Open(string name) => name switch
    {
        "cpu" => CpuDevice.Instance,
        "cuda" => throw new CliError("the CUDA backend is not part of this build yet; use --device cpu"),
        _ => throw new CliError($"unknown device '{name}': use cpu or cuda"),
    };
}
