using DrICL.Cli;
using DrICL.Kernels.Cuda;
using NUnit.Framework;

namespace DrICL.Tests.Cuda;

/// <summary>
/// Every kernel file compiles with NVRTC for the architectures the engine targets. Needs libnvrtc
/// (.ci/install-nvrtc installs it) but no GPU and no driver; skipped only when libnvrtc is absent.
/// </summary>
[Category("Cuda")]
public class NvrtcCompileTests
{
    static Nvrtc NvrtcOrIgnore()
    {
        try
        {
            return Nvrtc.Shared;
        }
        catch (DllNotFoundException e)
        {
            Assert.Ignore($"libnvrtc not found: {e.Message}");
            throw;
        }
    }

    static IEnumerable<TestCaseData> KernelFilesAndArchitectures() =>
        from file in KernelSources.Files
        from arch in CudaCommand.DefaultArchitectures
        select new TestCaseData(file.FileName, arch).SetName($"Compiles({file.FileName}, {arch})");

    [TestCaseSource(nameof(KernelFilesAndArchitectures))]
    public void Compiles(string file, string architecture)
    {
        var compiler = new NvrtcCompiler(NvrtcOrIgnore(), cacheDirectory: null);
        string ptx = compiler.Compile(KernelSources.Get(file), architecture);
        Assert.That(ptx, Does.Contain($".target {architecture.Replace("compute_", "sm_")}"));
        Assert.That(ptx, Does.Contain(".entry "));
    }

    [Test]
    public void CompileErrorsNameTheFileAndCarryTheLog()
    {
        var nvrtc = NvrtcOrIgnore();
        var e = Assert.Throws<CudaException>(() =>
            nvrtc.CompileToPtx("broken.cu", "extern \"C\" __global__ void f(float* x) { x[0] = undeclared_thing; }", [], NvrtcCompiler.Options("compute_80")));
        Assert.That(e!.ErrorName, Is.EqualTo("NVRTC_ERROR_COMPILATION"));
        Assert.That(e.Call, Does.Contain("broken.cu").And.Contain("compute_80"));
        Assert.That(e.Detail, Does.Contain("broken.cu").And.Contain("undeclared_thing"));
    }

    [Test]
    public void PtxIsCachedOnDiskAndReused()
    {
        var nvrtc = NvrtcOrIgnore();
        string dir = Path.Combine(Path.GetTempPath(), "dricl-ptx-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var compiler = new NvrtcCompiler(nvrtc, dir);
            var source = KernelSources.Get("elementwise.cu");
            string ptx = compiler.GetPtx(source, "compute_80");
            var files = Directory.GetFiles(dir, "*.ptx");
            Assert.That(files, Has.Length.EqualTo(1));
            Assert.That(File.ReadAllText(files[0]), Is.EqualTo(ptx));

            // A second request reads the file rather than compiling: prove it by marking the file.
            File.AppendAllText(files[0], "// from the cache\n");
            Assert.That(compiler.GetPtx(source, "compute_80"), Does.EndWith("// from the cache\n"));
            // Another architecture is another entry.
            compiler.GetPtx(source, "compute_90");
            Assert.That(Directory.GetFiles(dir, "*.ptx"), Has.Length.EqualTo(2));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void CompileCheckCommandReportsEveryFileAndTheTotal()
    {
        NvrtcOrIgnore();
        var output = new StringWriter();
        var stdout = Console.Out;
        Console.SetOut(output);
        int exit;
        try
        {
            exit = Program.Main(["cuda", "compile-check", "--arch", "compute_80"]);
        }
        finally
        {
            Console.SetOut(stdout);
        }
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int files = KernelSources.Files.Count;
        Assert.That(exit, Is.EqualTo(0), output.ToString());
        Assert.That(lines.Count(l => l.Contains(" compute_80 ") && l.Contains(" ok ")), Is.EqualTo(files));
        Assert.That(lines[^1], Does.StartWith($"{files}/{files} compiled ({files} files × 1 architecture; "));
    }
}
