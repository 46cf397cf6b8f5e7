using System.CommandLine;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Ilgpu;

namespace DrICL.Cli;

/// <summary>
/// The `--device cpu|ilgpu-cpu|cuda[:N]` and `--precision bf16|fp32` options shared by every command that
/// runs the model. cuda runs the ILGPU kernels on a GPU; ilgpu-cpu runs the very same kernels on ILGPU's CPU
/// accelerator (slow, but any machine can run and debug them).
/// </summary>
public sealed class DeviceOption(string defaultDevice = "cpu")
{
    readonly Option<string> device = new("--device")
    {
        Description = $"where to run: cpu, ilgpu-cpu (the GPU kernels on ILGPU's CPU accelerator), cuda (GPU 0) or cuda:N (default: {defaultDevice})",
        DefaultValueFactory = _ => defaultDevice,
    };

    readonly Option<string?> precision = new("--precision")
    {
        Description = "GPU arithmetic: bf16 (the default on cuda: tensor cores, fp32 master weights) or fp32 (the default on ilgpu-cpu); the cpu device is fp32",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(device);
        command.Options.Add(precision);
    }

    public IDevice Open(ParseResult parse) => Open(parse.GetValue(device)!, parse.GetValue(precision));

    public static IDevice Open(string name, string? precision = null)
    {
        if (name == "cpu")
        {
            if (precision is not null && precision != "fp32") throw new CliError($"--precision {precision}: the cpu device computes in fp32 only");
            return CpuDevice.Instance;
        }
        var p = precision switch
        {
            null => name == "ilgpu-cpu" ? ComputePrecision.Fp32 : ComputePrecision.Bf16,
            "bf16" => ComputePrecision.Bf16,
            "fp32" => ComputePrecision.Fp32,
            _ => throw new CliError($"unknown --precision '{precision}': use bf16 or fp32"),
        };
        if (name == "ilgpu-cpu") return IlgpuDevice.OpenCpu(p);
        if (name == "cuda") return OpenCuda(0, p);
        if (name.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(name.AsSpan(5), out int ordinal)) return OpenCuda(ordinal, p);
        throw new CliError($"unknown device '{name}': use cpu, ilgpu-cpu, cuda or cuda:N");
    }

    static IlgpuDevice OpenCuda(int ordinal, ComputePrecision precision)
    {
        try
        {
            return IlgpuDevice.OpenCuda(ordinal, precision);
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or ILGPU.Runtime.Cuda.CudaException)
        {
            throw new CliError($"cannot open the CUDA device: {e.Message}");
        }
    }
}
