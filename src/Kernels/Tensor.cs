using ILGPU;

namespace DrICL.Kernels;

/// <summary>
/// A dense, row-major float32 tensor owned by one device. Shapes are written outermost first,
/// as in the shape comments throughout the code (`// x: [B,T,C]`). Storage is a host array (CPU) or an ILGPU
/// buffer (IlgpuDevice, on a GPU or ILGPU's CPU accelerator); offset counts floats into either.
/// </summary>
public sealed class Tensor
{
    readonly float[]? host;
    readonly Ilgpu.IlgpuMemory? ilgpuMemory;
    readonly int offset;

    public IDevice Device { get; }
    public int[] Shape { get; }
    public int Length { get; }

    internal Tensor(IDevice device, int[] shape, float[] host, int offset = 0)
    {
        Device = device;
        Shape = shape;
        Length = SizeOf(shape);
        if (offset < 0 || offset + (long)Length > host.Length)
            throw new ArgumentException($"buffer of {host.Length} floats cannot hold shape {Format(shape)} at offset {offset}");
        this.host = host;
        this.offset = offset;
    }

    internal Tensor(IDevice device, int[] shape, Ilgpu.IlgpuMemory memory, int offset = 0)
    {
        Device = device;
        Shape = shape;
        Length = SizeOf(shape);
        if (offset < 0 || (offset + (long)Length) * sizeof(float) > memory.Bytes)
            throw new ArgumentException($"device buffer of {memory.Bytes} bytes cannot hold shape {Format(shape)} at offset {offset}");
        ilgpuMemory = memory;
        this.offset = offset;
    }

    /// <summary>The storage of a CPU tensor.</summary>
    public Span<float> Span => host is null
        ? throw new InvalidOperationException($"tensor on {Device.Name} has no host storage")
        : host.AsSpan(offset, Length);

    /// <summary>The address of the first element of a GPU tensor (for cuBLAS).</summary>
    internal nint DevicePointer => (ilgpuMemory?.Buffer.NativePtr
        ?? throw new InvalidOperationException($"tensor on {Device.Name} has no GPU storage")) + (nint)offset * sizeof(float);

    /// <summary>The elements of an IlgpuDevice tensor.</summary>
    internal ArrayView<float> View => ilgpuMemory is null
        ? throw new InvalidOperationException($"tensor on {Device.Name} has no ILGPU storage")
        : ilgpuMemory.Buffer.View.SubView(offset, Length);

    public int Rows => Length / Shape[^1];
    public int Columns => Shape[^1];

    /// <summary>Rows [start, start+count) seen as a [count, Columns] tensor sharing this one's storage (a KV cache's filled part).</summary>
    public Tensor SliceRows(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Rows) throw new ArgumentOutOfRangeException(nameof(count), $"rows {start}..{start + count} of {this}");
        int sliceOffset = offset + start * Columns;
        return ilgpuMemory is null ? new Tensor(Device, [count, Columns], host!, sliceOffset) : new Tensor(Device, [count, Columns], ilgpuMemory, sliceOffset);
    }

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
