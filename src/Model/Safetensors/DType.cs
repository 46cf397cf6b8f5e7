namespace DrICL.Model.Safetensors;

/// <summary>The safetensors element types the engine reads and writes (names as in the file header).</summary>
public enum DType { F32, F16, BF16, I32, I64 }

public static class DTypes
{
    public static int Size(this DType dtype) => dtype switch
    {
        DType.F16 or DType.BF16 => 2,
        DType.F32 or DType.I32 => 4,
        DType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    public static bool IsFloat(this DType dtype) => dtype is DType.F32 or DType.F16 or DType.BF16;

    /// <summary>The dtype named in a header, or null when the engine does not support it.</summary>
    public static DType? Parse(string name) => name switch
    {
        "F32" => DType.F32,
        "F16" => DType.F16,
        "BF16" => DType.BF16,
        "I32" => DType.I32,
        "I64" => DType.I64,
        _ => null,
    };
}
