using System.Security.Cryptography;
using System.Text;

namespace DrICL.Kernels.Cuda;

/// <summary>
/// Compiles the embedded kernels to PTX with NVRTC at first use and keeps the result on disk, so only
/// the first run after a kernel or compiler change pays for compilation. The cache file is named by a
/// SHA-256 over everything that shapes the PTX: NVRTC version, architecture, options, source and headers.
/// Cache: $DRICL_CACHE_DIR/ptx, else $XDG_CACHE_HOME/dricl/ptx, else ~/.cache/dricl/ptx.
/// </summary>
public sealed class NvrtcCompiler(Nvrtc nvrtc, string? cacheDirectory)
{
    public const string CacheVariable = "DRICL_CACHE_DIR";

    public Nvrtc Nvrtc => nvrtc;

    /// <summary>
    /// Exact IEEE float math (no --use_fast_math) so results track the CPU reference; -default-device lets
    /// helpers omit __device__.
    /// </summary>
    public static IReadOnlyList<string> Options(string architecture) => [$"--gpu-architecture={architecture}", "-default-device", "--std=c++17"];

    /// <summary>Compiles without the cache: what compile-check wants, since a cached file proves nothing about this machine.</summary>
    public string Compile(KernelSource source, string architecture) =>
        nvrtc.CompileToPtx(source.FileName, source.Text, KernelSources.Headers, Options(architecture));

    /// <summary>The PTX of a kernel file for an architecture, from the cache when it is there.</summary>
    public string GetPtx(KernelSource source, string architecture)
    {
        if (cacheDirectory is null) return Compile(source, architecture);
        string path = Path.Combine(cacheDirectory, CacheKey($"{nvrtc.Version.Major}.{nvrtc.Version.Minor}", Options(architecture), source, KernelSources.Headers) + ".ptx");
        if (File.Exists(path)) return File.ReadAllText(path);
        string ptx = Compile(source, architecture);
        try
        {
            // Write then rename, so a concurrent reader never sees half a file.
            Directory.CreateDirectory(cacheDirectory);
            string temp = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllText(temp, ptx);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The cache only saves time: a read-only or full disk must not stop the device from working.
        }
        return ptx;
    }

    public static string CacheKey(string nvrtcVersion, IReadOnlyList<string> options, KernelSource source, IReadOnlyList<(string Name, string Text)> headers)
    {
        var text = new StringBuilder();
        // Every field is length-prefixed so that moving text between fields changes the key.
        void Field(string s) => text.Append(s.Length).Append(':').Append(s).Append('\n');
        Field(nvrtcVersion);
        foreach (var o in options) Field(o);
        Field(source.FileName);
        Field(source.Text);
        foreach (var (name, body) in headers) { Field(name); Field(body); }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Where PTX is cached, from the environment (passed in so tests need not change the process's).</summary>
    public static string DefaultCacheDirectory(Func<string, string?> environment)
    {
        string? explicitDir = environment(CacheVariable);
        if (!string.IsNullOrEmpty(explicitDir)) return Path.Combine(explicitDir, "ptx");
        string? xdg = environment("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "dricl", "ptx");
    }

    /// <summary>
    /// The virtual architecture to compile for on a device of compute capability major.minor: its own when
    /// this NVRTC knows it, else the newest one it knows below it (the driver JIT-compiles PTX forward).
    /// </summary>
    public static string ArchitectureFor(int major, int minor, IReadOnlyList<int> supported)
    {
        int device = major * 10 + minor;
        var usable = supported.Where(a => a <= device).ToList();
        if (usable.Count == 0)
            throw new NotSupportedException($"compute capability {major}.{minor} is older than every architecture this NVRTC targets ({string.Join(", ", supported.Select(a => $"compute_{a}"))})");
        return $"compute_{usable.Max()}";
    }
}
