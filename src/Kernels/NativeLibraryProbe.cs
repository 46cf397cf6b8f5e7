using System.Runtime.InteropServices;

namespace DrICL.Kernels;

/// <summary>
/// Finds a versioned CUDA library (cuBLAS) by trying sonames newest first, so one build runs on
/// CUDA 13, 12 or 11 without a toolkit of its own. An environment variable naming a file wins over them all.
/// </summary>
internal static class NativeLibraryProbe
{
    /// <summary>The names to try, in order: the override (when set), then the sonames.</summary>
    public static IReadOnlyList<string> Candidates(string? overridePath, IEnumerable<string> sonames) =>
        string.IsNullOrWhiteSpace(overridePath) ? [.. sonames] : [overridePath, .. sonames];

    /// <summary>Loads the first candidate that opens, or throws DllNotFoundException listing every name tried.</summary>
    public static (nint Handle, string Name) Load(string what, string overrideVariable, IEnumerable<string> sonames)
    {
        var tried = Candidates(Environment.GetEnvironmentVariable(overrideVariable), sonames);
        foreach (var name in tried)
            if (NativeLibrary.TryLoad(name, out var handle)) return (handle, name);
        throw new DllNotFoundException($"{what} not found (tried {string.Join(", ", tried)}; set {overrideVariable} to its path)");
    }

    /// <summary>The address of an exported function, or an EntryPointNotFoundException naming the library.</summary>
    public static nint Export(nint library, string libraryName, string function) =>
        NativeLibrary.TryGetExport(library, function, out var address)
            ? address
            : throw new EntryPointNotFoundException($"{libraryName} has no {function}");
}
