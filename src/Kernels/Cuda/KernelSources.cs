using System.Reflection;

namespace DrICL.Kernels.Cuda;

/// <summary>One CUDA C translation unit shipped inside the assembly (Cuda/Kernels/*.cu).</summary>
public sealed record KernelSource(string FileName, string Text);

/// <summary>
/// The kernels' CUDA C, embedded as resources so the engine needs no files beside it at run time.
/// .cu files are compiled one module each; .cuh files are the headers they may #include.
/// </summary>
public static class KernelSources
{
    const string Prefix = "DrICL.Kernels.Cuda.Kernels.";

    static readonly Lazy<(IReadOnlyList<KernelSource> Files, IReadOnlyList<(string Name, string Text)> Headers)> all = new(Read);

    public static IReadOnlyList<KernelSource> Files => all.Value.Files;
    public static IReadOnlyList<(string Name, string Text)> Headers => all.Value.Headers;

    public static KernelSource Get(string fileName) =>
        Files.FirstOrDefault(f => f.FileName == fileName) ?? throw new ArgumentException($"no embedded kernel file {fileName}");

    static (IReadOnlyList<KernelSource>, IReadOnlyList<(string, string)>) Read()
    {
        var assembly = typeof(KernelSources).Assembly;
        var sources = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => new KernelSource(n[Prefix.Length..], ReadText(assembly, n)))
            .ToList();
        return ([.. sources.Where(s => s.FileName.EndsWith(".cu", StringComparison.Ordinal))],
                [.. sources.Where(s => s.FileName.EndsWith(".cuh", StringComparison.Ordinal)).Select(s => (s.FileName, s.Text))]);
    }

    static string ReadText(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
