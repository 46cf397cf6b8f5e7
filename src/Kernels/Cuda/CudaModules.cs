using System.Text;

namespace DrICL.Kernels.Cuda;

/// <summary>
/// The kernel files as loaded modules, each compiled (or taken from the PTX cache) and loaded at first use,
/// so a run that never calls attention never compiles it. Kernels are looked up by file and name.
/// </summary>
internal sealed unsafe class CudaModules(NvrtcCompiler compiler, string architecture, int maxSharedBytes) : IDisposable
{
    readonly Dictionary<string, nint> modules = [];
    readonly Dictionary<(string File, string Name), CudaKernel> kernels = [];

    public string Architecture => architecture;

    /// <summary>The most dynamic shared memory a block may opt into on this GPU.</summary>
    public int MaxSharedBytes => maxSharedBytes;

    public CudaKernel this[string file, string name]
    {
        get
        {
            if (kernels.TryGetValue((file, name), out var kernel)) return kernel;
            CudaDriver.Check(CudaDriver.cuModuleGetFunction(out var function, Module(file), name), $"cuModuleGetFunction({file}: {name})");
            return kernels[(file, name)] = new CudaKernel(function, name, maxSharedBytes);
        }
    }

    nint Module(string file)
    {
        if (modules.TryGetValue(file, out var module)) return module;
        string ptx = compiler.GetPtx(KernelSources.Get(file), architecture);
        var image = Encoding.UTF8.GetBytes(ptx + "\0"); // the driver reads PTX as a C string
        fixed (byte* p = image) CudaDriver.Check(CudaDriver.cuModuleLoadData(out module, p), $"cuModuleLoadData({file}, {architecture})");
        return modules[file] = module;
    }

    public void Dispose()
    {
        foreach (var module in modules.Values) CudaDriver.cuModuleUnload(module);
        modules.Clear();
        kernels.Clear();
    }
}
