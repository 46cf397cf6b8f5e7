namespace DrICL.Model.Safetensors;

/// <summary>One header entry: a tensor's name, element type, shape and byte range within the data region.</summary>
public sealed record TensorInfo(string Name, DType DType, int[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);
    public long ByteCount => End - Begin;
}
