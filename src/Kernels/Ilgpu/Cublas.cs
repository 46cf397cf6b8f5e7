using System.Runtime.InteropServices;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// cuBLAS for the engine's matrix multiplies, through cublasGemmEx on fp32 matrices: with
/// CUBLAS_COMPUTE_32F it is true fp32 (no TF32), tracking the CPU reference; with
/// CUBLAS_COMPUTE_32F_FAST_16BF cuBLAS rounds the inputs to bf16 and runs the tensor cores with fp32
/// accumulation, so fp32 master weights feed a bf16 product. cuBLAS is column-major and the engine is
/// row-major; a row-major C = A B is the column-major Cᵀ = Bᵀ Aᵀ, so the call passes B first, A second,
/// and swaps M and N (<see cref="RowMajor"/>). Libraries are probed newest first; DRICL_CUBLAS names a file instead.
/// The handle belongs to the CUDA context current when it is made (ILGPU's own: create it while the
/// accelerator is bound) and queues on the stream it is given (ILGPU's CudaStream.StreamPtr).
/// ILGPU.Algorithms' CuBlas has no GemmEx (so no bf16 inputs with fp32 compute) and binds only up to .so.12.
/// </summary>
internal sealed unsafe class Cublas : IDisposable
{
    public const string OverrideVariable = "DRICL_CUBLAS";
    public static readonly IReadOnlyList<string> Sonames = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"];

    const int OpN = 0, OpT = 1;
    const int R32F = 0;                                   // cudaDataType CUDA_R_32F
    const int Compute32F = 68, Compute32FFast16BF = 75;   // cublasComputeType_t
    const int GemmDefault = -1;                           // cublasGemmAlgo_t CUBLAS_GEMM_DEFAULT

    readonly delegate* unmanaged<nint, int> destroy;
    // cublasGemmEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, computeType, algo)
    readonly delegate* unmanaged<nint, int, int, int, int, int, float*, nint, int, int, nint, int, int, float*, nint, int, int, int, int, int> gemmEx;
    // cublasGetStatusName appeared in cuBLAS 11.4.2; older libraries get a numbered name.
    readonly delegate* unmanaged<int, byte*> statusName;
    nint handle;

    public string LibraryName { get; }

    public Cublas(nint stream)
    {
        var (lib, name) = NativeLibraryProbe.Load("cuBLAS (libcublas)", OverrideVariable, Sonames);
        LibraryName = name;
        nint F(string function) => NativeLibraryProbe.Export(lib, name, function);
        var create = (delegate* unmanaged<nint*, int>)F("cublasCreate_v2");
        var setStream = (delegate* unmanaged<nint, nint, int>)F("cublasSetStream_v2");
        destroy = (delegate* unmanaged<nint, int>)F("cublasDestroy_v2");
        gemmEx = (delegate* unmanaged<nint, int, int, int, int, int, float*, nint, int, int, nint, int, int, float*, nint, int, int, int, int, int>)F("cublasGemmEx");
        statusName = NativeLibrary.TryGetExport(lib, "cublasGetStatusName", out var p) ? (delegate* unmanaged<int, byte*>)p : null;

        nint h;
        Check(create(&h), "cublasCreate_v2");
        handle = h;
        Check(setStream(handle, stream), "cublasSetStream_v2");
    }

    /// <summary>
    /// The column-major call that computes row-major c[M,N] = op(a)[M,K] @ op(b)[K,N]: first operand b,
    /// second a. A row-major [R,C] buffer is a column-major [C,R] one with leading dimension C.
    /// </summary>
    public readonly record struct ColumnMajorGemm(bool TransFirst, bool TransSecond, int M, int N, int K, int LdFirst, int LdSecond, int Ldc);

    public static ColumnMajorGemm RowMajor(int m, int n, int k, bool transA, bool transB) =>
        // b is stored [K,N] (or [N,K] when transB); a is stored [M,K] (or [K,M] when transA). Leading
        // dimensions must be at least 1 even for empty operands.
        new(transB, transA, n, m, k,
            Math.Max(1, transB ? k : n),
            Math.Max(1, transA ? m : k),
            Math.Max(1, n));

    /// <summary>Row-major fp32 c = (accumulate ? c : 0) + op(a) @ op(b) on device pointers, queued on the handle's stream.</summary>
    public void Gemm(nint a, nint b, nint c, int m, int n, int k, bool transA, bool transB, bool accumulate, ComputePrecision precision)
    {
        if (m == 0 || n == 0) return;
        var g = RowMajor(m, n, k, transA, transB);
        float alpha = 1f, beta = accumulate ? 1f : 0f;
        int compute = precision == ComputePrecision.Bf16 ? Compute32FFast16BF : Compute32F;
        Check(gemmEx(handle, g.TransFirst ? OpT : OpN, g.TransSecond ? OpT : OpN, g.M, g.N, g.K, &alpha, b, R32F, g.LdFirst, a, R32F, g.LdSecond,
                &beta, c, R32F, g.Ldc, compute, GemmDefault),
            $"cublasGemmEx({m}x{n}x{k}, {precision})");
    }

    void Check(int status, string call)
    {
        if (status == 0) return;
        string name = statusName != null ? Marshal.PtrToStringUTF8((nint)statusName(status)) ?? "" : "";
        throw new ILGPU.Runtime.Cuda.CudaException($"{call}: {(name.Length > 0 ? name : $"CUBLAS_STATUS_{status}")}");
    }

    public void Dispose()
    {
        if (handle == 0) return;
        destroy(handle);
        handle = 0;
    }
}
