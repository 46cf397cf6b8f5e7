namespace DrICL.Kernels.Cuda;

/// <summary>
/// A failed call into the CUDA driver, NVRTC or cuBLAS. Carries the library's own error name
/// (CUDA_ERROR_OUT_OF_MEMORY, NVRTC_ERROR_COMPILATION, CUBLAS_STATUS_NOT_INITIALIZED...) and the call
/// that returned it, so a failure deep in a training step still says what went wrong where.
/// </summary>
public sealed class CudaException : Exception
{
    public string Call { get; }
    public string ErrorName { get; }
    /// <summary>Extra text from the library: the error's description, or NVRTC's compile log.</summary>
    public string? Detail { get; }

    public CudaException(string call, string errorName, string? detail = null) : base(Format(call, errorName, detail))
    {
        Call = call;
        ErrorName = errorName;
        Detail = detail;
    }

    /// <summary>"call: NAME", then the detail: in parentheses when it is one line, below otherwise (compile logs).</summary>
    public static string Format(string call, string errorName, string? detail)
    {
        string head = $"{call}: {errorName}";
        if (string.IsNullOrWhiteSpace(detail)) return head;
        detail = detail.Trim();
        return detail.Contains('\n') ? $"{head}\n{detail}" : $"{head} ({detail})";
    }
}
