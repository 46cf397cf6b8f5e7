using System.Runtime.InteropServices;

namespace DrICL.Kernels.Cuda;

/// <summary>
/// NVRTC, the CUDA runtime compiler: CUDA C source in, PTX out. Needs no GPU and no driver, which is
/// what lets a machine without either compile-check the kernels. Loaded by probing sonames, newest CUDA
/// first (DRICL_NVRTC names a file to use instead); calls go through function pointers from the library.
/// </summary>
public sealed unsafe class Nvrtc
{
    public const string OverrideVariable = "DRICL_NVRTC";

    /// <summary>CUDA 13, 12, then 11.2+ (11.2 through 11.8 all ship libnvrtc.so.11.2), then an unversioned link.</summary>
    public static readonly IReadOnlyList<string> Sonames = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"];

    static readonly Lazy<Nvrtc> shared = new(() => new Nvrtc());

    /// <summary>The process-wide NVRTC; throws DllNotFoundException listing the names tried when there is none.</summary>
    public static Nvrtc Shared => shared.Value;

    readonly delegate* unmanaged<int*, int*, int> version;
    readonly delegate* unmanaged<int*, int> getNumSupportedArchs;
    readonly delegate* unmanaged<int*, int> getSupportedArchs;
    readonly delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> createProgram;
    readonly delegate* unmanaged<nint, int, byte**, int> compileProgram;
    readonly delegate* unmanaged<nint*, int> destroyProgram;
    readonly delegate* unmanaged<nint, nuint*, int> getProgramLogSize;
    readonly delegate* unmanaged<nint, byte*, int> getProgramLog;
    readonly delegate* unmanaged<nint, nuint*, int> getPtxSize;
    readonly delegate* unmanaged<nint, byte*, int> getPtx;
    readonly delegate* unmanaged<int, byte*> getErrorString;

    /// <summary>The file or soname that loaded, e.g. libnvrtc.so.11.2.</summary>
    public string LibraryName { get; }
    public (int Major, int Minor) Version { get; }
    /// <summary>The virtual architectures this NVRTC can target, as compute capabilities ×10 (80 = compute_80).</summary>
    public IReadOnlyList<int> SupportedArchitectures { get; }

    Nvrtc()
    {
        var (lib, name) = NativeLibraryProbe.Load("NVRTC (libnvrtc)", OverrideVariable, Sonames);
        LibraryName = name;
        nint F(string function) => NativeLibraryProbe.Export(lib, name, function);
        version = (delegate* unmanaged<int*, int*, int>)F("nvrtcVersion");
        getNumSupportedArchs = (delegate* unmanaged<int*, int>)F("nvrtcGetNumSupportedArchs");
        getSupportedArchs = (delegate* unmanaged<int*, int>)F("nvrtcGetSupportedArchs");
        createProgram = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)F("nvrtcCreateProgram");
        compileProgram = (delegate* unmanaged<nint, int, byte**, int>)F("nvrtcCompileProgram");
        destroyProgram = (delegate* unmanaged<nint*, int>)F("nvrtcDestroyProgram");
        getProgramLogSize = (delegate* unmanaged<nint, nuint*, int>)F("nvrtcGetProgramLogSize");
        getProgramLog = (delegate* unmanaged<nint, byte*, int>)F("nvrtcGetProgramLog");
        getPtxSize = (delegate* unmanaged<nint, nuint*, int>)F("nvrtcGetPTXSize");
        getPtx = (delegate* unmanaged<nint, byte*, int>)F("nvrtcGetPTX");
        getErrorString = (delegate* unmanaged<int, byte*>)F("nvrtcGetErrorString");

        int major, minor, count;
        Check(version(&major, &minor), "nvrtcVersion");
        Version = (major, minor);
        Check(getNumSupportedArchs(&count), "nvrtcGetNumSupportedArchs");
        var archs = new int[count];
        fixed (int* p = archs) Check(getSupportedArchs(p), "nvrtcGetSupportedArchs");
        SupportedArchitectures = archs;
    }

    public override string ToString() => $"NVRTC {Version.Major}.{Version.Minor} ({LibraryName})";

    /// <summary>
    /// Compiles one translation unit to PTX. Headers are (include name, text) pairs served to #include "...";
    /// a failed compile throws a CudaException whose detail is NVRTC's log, naming the file.
    /// </summary>
    public string CompileToPtx(string fileName, string source, IReadOnlyList<(string Name, string Text)> headers, IReadOnlyList<string> options)
    {
        using var strings = new Utf8Strings();
        var headerTexts = stackalloc byte*[Math.Max(1, headers.Count)];
        var headerNames = stackalloc byte*[Math.Max(1, headers.Count)];
        for (int i = 0; i < headers.Count; i++)
        {
            headerTexts[i] = strings.Add(headers[i].Text);
            headerNames[i] = strings.Add(headers[i].Name);
        }
        var optionPointers = stackalloc byte*[Math.Max(1, options.Count)];
        for (int i = 0; i < options.Count; i++) optionPointers[i] = strings.Add(options[i]);

        nint program;
        Check(createProgram(&program, strings.Add(source), strings.Add(fileName), headers.Count, headerTexts, headerNames), $"nvrtcCreateProgram({fileName})");
        try
        {
            int result = compileProgram(program, options.Count, optionPointers);
            if (result != 0)
                throw new CudaException($"nvrtcCompileProgram({fileName}, {string.Join(" ", options)})", ErrorName(result), Log(program));
            nuint size;
            Check(getPtxSize(program, &size), "nvrtcGetPTXSize");
            var ptx = new byte[size];
            fixed (byte* p = ptx) Check(getPtx(program, p), "nvrtcGetPTX");
            return System.Text.Encoding.UTF8.GetString(ptx, 0, (int)size - 1); // size counts the terminating NUL
        }
        finally
        {
            destroyProgram(&program);
        }
    }

    string Log(nint program)
    {
        nuint size;
        Check(getProgramLogSize(program, &size), "nvrtcGetProgramLogSize");
        var log = new byte[size];
        fixed (byte* p = log) Check(getProgramLog(program, p), "nvrtcGetProgramLog");
        return System.Text.Encoding.UTF8.GetString(log).TrimEnd('\0');
    }

    string ErrorName(int result) => Marshal.PtrToStringUTF8((nint)getErrorString(result)) ?? $"NVRTC_ERROR_{result}";

    void Check(int result, string call)
    {
        if (result != 0) throw new CudaException(call, ErrorName(result));
    }

    /// <summary>NUL-terminated UTF-8 copies of managed strings, freed together.</summary>
    sealed class Utf8Strings : IDisposable
    {
        readonly List<nint> allocations = [];

        public byte* Add(string text)
        {
            var p = Marshal.StringToCoTaskMemUTF8(text);
            allocations.Add(p);
            return (byte*)p;
        }

        public void Dispose()
        {
            foreach (var p in allocations) Marshal.FreeCoTaskMem(p);
        }
    }
}
