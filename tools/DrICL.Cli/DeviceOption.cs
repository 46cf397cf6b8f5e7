using System.CommandLine;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Cuda;

namespace DrICL.Cli;

/// <summary>The `--device cpu|cuda` option shared by every command that runs the model.</summary>
public static class DeviceOption
{
    public static Option<string> Create() => new("--device")
    {
        Description = "where to run: cpu (default), cuda (GPU 0) or cuda:N",
        DefaultValueFactory = _ => "cpu",
    };

    public static IDevice Open(string name) => name switch
    {
        "cpu" => CpuDevice.Instance,
        "cuda" => OpenCuda(0),
        _ when name.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(name.AsSpan(5), out int ordinal) => OpenCuda(ordinal),
        _ => throw new CliError($"unknown device '{name}': use cpu, cuda or cuda:N"),
    };

    static CudaDevice OpenCuda(int ordinal)
    {
        try
        {
            return CudaDevice.Open(ordinal);
        }
        catch (Exception e) when (e is DllNotFoundException or CudaException or NotSupportedException or ArgumentOutOfRangeException)
        {
            throw new CliError($"cannot open the CUDA device: {e.Message}");
        }
    }
}
