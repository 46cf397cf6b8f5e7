namespace DrICL.Kernels;

/// <summary>
/// A dense, row-major float32 tensor owned by one device. Shapes are written outermost first,
/// as in the shape comments throughout the code (`// x: [B,T,C]`).
/// </summary>
public sealed class Tensor
{
    readonly float[]? host;

    public IDevice Device { get; }
    public int[] Shape { get; }
    public int Length { get; }

    internal Tensor(IDevice device, int[] shape, float[] host)
    {
        Device = device;
        Shape = shape;
        Length = SizeOf(shape);
        if (host.Length != Length) throw new ArgumentException($"buffer holds {host.Length} floats, shape {Format(shape)} needs {Length}");
        this.host = host;
    }

    /// <summary>The storage of a CPU tensor.</summary>
    public Span<float> Span => host ?? throw new InvalidOperationException($"tensor on {Device.Name} has no host storage");

    /// <summary>The backing array of a CPU tensor (for kernels that pin it across threads).</summary>
    public float[] Array => host ?? throw new InvalidOperationException($"tensor on {Device.Name} has no host storage");

    public int Rows => Length / Shape[^1];
    public int Columns => Shape[^1];

    public float[] ToArray()
    {
        var result = new float[Length];
        Device.Download(this, result);
        return result;
    }

    public override string ToString() => $"Tensor{Format(Shape)} on {Device.Name}";

    public static int SizeOf(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape {Format(shape.ToArray())}");
            n *= d;
            if (n > int.MaxValue) throw new ArgumentException($"shape {Format(shape.ToArray())} has more than {int.MaxValue} elements");
        }
        return (int)n;
    }

    public static string Format(int[] shape) => "[" + string.Join(",", shape) + "]";
}
