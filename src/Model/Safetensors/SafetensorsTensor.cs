using System.Buffers.Binary;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;

namespace DrICL.Model.Safetensors;

/// <summary>
/// A tensor to write: name, dtype, shape and the values it is encoded from. Values are encoded when
/// the writer reaches the tensor, so a checkpoint is never held in memory twice.
/// </summary>
public sealed class SafetensorsTensor
{
    const int ChunkElements = 1 << 16;

    readonly Action<Stream> writeData;

    public string Name { get; }
    public DType DType { get; }
    public int[] Shape { get; }
    public long ByteCount { get; }

    SafetensorsTensor(string name, DType dtype, int[] shape, int valueCount, Action<Stream> writeData)
    {
        if (name.Length == 0 || name == "__metadata__") throw new ArgumentException($"invalid tensor name '{name}'");
        int elements = Tensor.SizeOf(shape);
        if (elements != valueCount)
            throw new ArgumentException($"tensor '{name}': shape {Tensor.Format(shape)} has {elements} elements, {valueCount} values given");
        Name = name;
        DType = dtype;
        Shape = shape;
        ByteCount = (long)elements * dtype.Size();
        this.writeData = writeData;
    }

    /// <summary>Float values stored as F32, or rounded to BF16/F16 (round to nearest even, as PyTorch does).</summary>
    public static SafetensorsTensor FromFloats(string name, int[] shape, ReadOnlyMemory<float> values, DType dtype = DType.F32)
    {
        Action<ReadOnlySpan<float>, Span<byte>> encode = dtype switch
        {
            DType.F32 => (src, dst) => { for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dst[(4 * i)..], src[i]); },
            DType.BF16 => (src, dst) => { for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(dst[(2 * i)..], Bf16.FromFloat(src[i])); },
            DType.F16 => (src, dst) => { for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(dst[(2 * i)..], (Half)src[i]); },
            _ => throw new ArgumentException($"tensor '{name}': float values cannot be stored as {dtype}"),
        };
        return new(name, dtype, shape, values.Length, stream => WriteChunked(stream, values.Span, dtype.Size(), encode));
    }

    /// <summary>Integer values stored as I32 or I64.</summary>
    public static SafetensorsTensor FromInts(string name, int[] shape, ReadOnlyMemory<int> values, DType dtype = DType.I32)
    {
        Action<ReadOnlySpan<int>, Span<byte>> encode = dtype switch
        {
            DType.I32 => (src, dst) => { for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(dst[(4 * i)..], src[i]); },
            DType.I64 => (src, dst) => { for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(dst[(8 * i)..], src[i]); },
            _ => throw new ArgumentException($"tensor '{name}': integer values cannot be stored as {dtype}"),
        };
        return new(name, dtype, shape, values.Length, stream => WriteChunked(stream, values.Span, dtype.Size(), encode));
    }

    internal void WriteData(Stream stream) => writeData(stream);

    static void WriteChunked<T>(Stream stream, ReadOnlySpan<T> values, int elementSize, Action<ReadOnlySpan<T>, Span<byte>> encode)
    {
        var buffer = new byte[Math.Min(values.Length, ChunkElements) * elementSize];
        for (int start = 0; start < values.Length; start += ChunkElements)
        {
            var chunk = values.Slice(start, Math.Min(ChunkElements, values.Length - start));
            var bytes = buffer.AsSpan(0, chunk.Length * elementSize);
            encode(chunk, bytes);
            stream.Write(bytes);
        }
    }
}
