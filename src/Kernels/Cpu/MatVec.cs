namespace DrICL.Kernels.Cpu;

/// <summary>The element type of a weight matrix kept for inference.</summary>
public enum WeightFormat { F32, Bf16 }

/// <summary>
/// A linear layer's weight [Rows, Cols], row-major ([out,in] as in Hugging Face checkpoints), as float32 or
/// bfloat16 in memory that does not move: a pinned array or a memory-mapped file that outlives it.
/// </summary>
public readonly unsafe struct WeightMatrix(int rows, int cols, WeightFormat format, void* data)
{
    public int Rows { get; } = rows;
    public int Cols { get; } = cols;
    public WeightFormat Format { get; } = format;
    public void* Data { get; } = data;

    public long Bytes => (long)Rows * Cols * (Format == WeightFormat.Bf16 ? 2 : 4);
    public float* F32Row(int r) => (float*)Data + (nint)r * Cols;
    public ushort* Bf16Row(int r) => (ushort*)Data + (nint)r * Cols;

    /// <summary>Row r widened to float32.</summary>
    public void ReadRow(int r, Span<float> destination)
    {
        if (Format == WeightFormat.F32) new ReadOnlySpan<float>(F32Row(r), Cols).CopyTo(destination);
        else Bf16.ToFloats(new ReadOnlySpan<ushort>(Bf16Row(r), Cols), destination);
    }
}

/// <summary>
/// Matrix-vector products y = W x for batch-1 decoding, the step whose cost is reading W once per token.
/// The references accumulate in double; the fast kernels (MatVec.Fast.cs) are tested against them.
/// </summary>
public static partial class MatVec
{
    // w: [R,C] float32, x: [C] -> y: [R]
    public static void Reference(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += (double)w[r * cols + c] * x[c];
            y[r] = (float)sum;
        }
    }

    // w: [R,C] bfloat16, x: [C] -> y: [R]
    public static void Bf16Reference(ReadOnlySpan<ushort> w, ReadOnlySpan<float> x, Span<float> y, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += (double)Bf16.ToFloat(w[r * cols + c]) * x[c];
            y[r] = (float)sum;
        }
    }
}
