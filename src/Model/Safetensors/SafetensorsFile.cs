using System.IO.MemoryMappedFiles;

namespace DrICL.Model.Safetensors;

/// <summary>
/// A safetensors file opened read-only through a memory map: the header is parsed and validated on
/// open, tensor data is converted straight from the mapped pages when asked for. Layout: an 8-byte
/// little-endian header length N, N bytes of JSON, then the data region the header indexes.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    readonly MemoryMappedFile map;
    readonly MemoryMappedViewAccessor view;
    readonly byte* data; // start of the data region, valid until Dispose
    bool disposed;

    public string Path { get; }
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }
    /// <summary>The header's <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public SafetensorsFile(string path)
    {
        Path = path;
        // Checked before opening: opening a FIFO blocks until someone writes to it (see InputFile).
        if (new FileInfo(path) is { Exists: true, Length: < 8 } small)
            throw new SafetensorsException(path, $"file is {small.Length} bytes, shorter than the 8-byte header length{(small.Length == 0 ? ", or not a regular file (a FIFO or a device)" : "")}");
        long dataStart;
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            long fileLength = stream.Length;
            if (fileLength < 8)
                throw new SafetensorsException(path, $"file is {fileLength} bytes, shorter than the 8-byte header length");
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            ulong headerLength = BitConverter.ToUInt64(prefix);
            if (headerLength > SafetensorsHeader.MaxLength)
                throw new SafetensorsException(path, $"header length {headerLength} exceeds the {SafetensorsHeader.MaxLength}-byte limit");
            if (headerLength > (ulong)(fileLength - 8))
                throw new SafetensorsException(path, $"header length {headerLength} exceeds file size {fileLength}");

            var json = new byte[headerLength];
            stream.ReadExactly(json);
            dataStart = 8 + (long)headerLength;
            (var tensors, var metadata) = SafetensorsHeader.Parse(json, fileLength - dataStart, path);
            Tensors = tensors;
            Metadata = metadata;

            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* start = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
        data = start + view.PointerOffset + dataStart;
    }

    public TensorInfo Info(string name) =>
        Tensors.TryGetValue(name, out var info) ? info : throw new SafetensorsException(Path, $"no tensor named '{name}'");

    /// <summary>A float tensor (F32, F16 or BF16) converted to float32.</summary>
    public float[] ReadFloats(string name)
    {
        var result = new float[ElementCount(Info(name))];
        ReadFloats(name, result);
        return result;
    }

    /// <summary>A float tensor converted to float32 into <paramref name="destination"/>, which must hold exactly its elements.</summary>
    public void ReadFloats(string name, Span<float> destination)
    {
        var info = Info(name);
        int n = ElementCount(info);
        if (destination.Length != n)
            throw new ArgumentException($"{Path}: tensor '{name}' has {n} elements, destination holds {destination.Length}");
        byte* p = Pointer(info);
        switch (info.DType)
        {
            case DType.F32:
                new ReadOnlySpan<float>(p, n).CopyTo(destination);
                break;
            case DType.BF16: // bf16 is the upper half of a float32
                var bf16 = new ReadOnlySpan<ushort>(p, n);
                for (int i = 0; i < n; i++) destination[i] = BitConverter.Int32BitsToSingle(bf16[i] << 16);
                break;
            case DType.F16:
                var f16 = new ReadOnlySpan<Half>(p, n);
                for (int i = 0; i < n; i++) destination[i] = (float)f16[i];
                break;
            default:
                throw new SafetensorsException(Path, $"tensor '{name}' is {info.DType}, not a float type");
        }
    }

    /// <summary>
    /// The raw bytes of a tensor in the mapped file, valid until Dispose: lets inference keep bf16 weights
    /// where they are instead of copying them.
    /// </summary>
    public byte* Address(string name) => Pointer(Info(name));

    /// <summary>An integer tensor (I32, or I64 whose values all fit in 32 bits).</summary>
    public int[] ReadInts(string name)
    {
        var info = Info(name);
        int n = ElementCount(info);
        byte* p = Pointer(info);
        switch (info.DType)
        {
            case DType.I32:
                return new ReadOnlySpan<int>(p, n).ToArray();
            case DType.I64:
                var i64 = new ReadOnlySpan<long>(p, n);
                var result = new int[n];
                for (int i = 0; i < n; i++)
                {
                    if (i64[i] is < int.MinValue or > int.MaxValue)
                        throw new SafetensorsException(Path, $"tensor '{name}' element {i} = {i64[i]} does not fit in 32 bits");
                    result[i] = (int)i64[i];
                }
                return result;
            default:
                throw new SafetensorsException(Path, $"tensor '{name}' is {info.DType}, not an integer type");
        }
    }

    int ElementCount(TensorInfo info) => info.ElementCount <= Array.MaxLength
        ? (int)info.ElementCount
        : throw new SafetensorsException(Path, $"tensor '{info.Name}' has {info.ElementCount} elements, more than one array holds");

    byte* Pointer(TensorInfo info)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return data + info.Begin;
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        map.Dispose();
    }
}
