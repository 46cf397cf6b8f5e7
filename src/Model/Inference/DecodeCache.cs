using DrICL.Kernels.Cpu;

namespace DrICL.Model.Inference;

/// <summary>
/// The KV cache of a DecodeModel: per layer, Context rows of kvHeads*D keys and as many rows of values, float32 or
/// bfloat16. A bf16 cache (the one bf16 weights get) halves the memory and the bytes each decode step's attention
/// reads: a 7B model without GQA (32 layers, rows of 4096) holds 2.1 GB at 4096 positions instead of 4.3. Rows are
/// rounded to bf16 as they are written, and a prefill attends over the rounded values (the earlier rows widened
/// back by Widen), so a prompt run as one prefill and the same prompt run as steps see the same keys and values.
/// </summary>
public sealed unsafe class DecodeCache
{
    // One pinned array per layer, so a cache may exceed the 2^31 elements of one array (a Llama 3 8B at 131072 positions holds 4.3 G).
    readonly float[][]? keys32, values32;   // float32 cache
    readonly ushort[][]? keys16, values16;  // bf16 cache
    readonly int width;

    public WeightFormat Format { get; }

    public DecodeCache(int layers, int context, int width, WeightFormat format)
    {
        if ((long)context * width > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(context), $"a KV cache of {context} positions of {width} values does not fit one array per layer: at most {Array.MaxLength / width} positions");
        (this.width, Format) = (width, format);
        if (format == WeightFormat.F32)
        {
            keys32 = Layers(layers, () => Pinned.Floats((long)context * width));
            values32 = Layers(layers, () => Pinned.Floats((long)context * width));
        }
        else
        {
            keys16 = Layers(layers, () => GC.AllocateArray<ushort>(context * width, pinned: true));
            values16 = Layers(layers, () => GC.AllocateArray<ushort>(context * width, pinned: true));
        }
    }

    static T[][] Layers<T>(int layers, Func<T[]> allocate) => Enumerable.Range(0, layers).Select(_ => allocate()).ToArray();

    /// <summary>Float32 cache only: the keys of a layer from position 0, where a prefill projects its rows in place.</summary>
    public float* Keys(int layer) => Pinned.Address((keys32 ?? throw new InvalidOperationException("a bf16 cache has no float32 rows"))[layer]);

    /// <summary>Float32 cache only: the values of a layer from position 0.</summary>
    public float* Values(int layer) => Pinned.Address((values32 ?? throw new InvalidOperationException("a bf16 cache has no float32 rows"))[layer]);

    /// <summary>
    /// Stores count rows of keys and values (k, v: [count, width]) at positions pos.. of a layer. A bf16 cache rounds
    /// them, and k and v are left holding the rounded values.
    /// </summary>
    public void Write(int layer, int pos, int count, float* k, float* v)
    {
        int n = count * width;
        if (Format == WeightFormat.F32)
        {
            new ReadOnlySpan<float>(k, n).CopyTo(new Span<float>(Keys(layer) + (nint)pos * width, n));
            new ReadOnlySpan<float>(v, n).CopyTo(new Span<float>(Values(layer) + (nint)pos * width, n));
        }
        else
        {
            Bf16.RoundTo(new Span<float>(k, n), keys16![layer].AsSpan(pos * width, n));
            Bf16.RoundTo(new Span<float>(v, n), values16![layer].AsSpan(pos * width, n));
        }
    }

    /// <summary>Bf16 cache only: rows pos..pos+count-1 of a layer widened to float32 into the same rows of k and v ([positions, width] each).</summary>
    public void Widen(int layer, int pos, int count, float* k, float* v)
    {
        if (Format != WeightFormat.Bf16) throw new InvalidOperationException("a float32 cache is read in place");
        int n = count * width;
        nint at = (nint)pos * width;
        Bf16.ToFloats(keys16![layer].AsSpan((int)at, n), new Span<float>(k + at, n));
        Bf16.ToFloats(values16![layer].AsSpan((int)at, n), new Span<float>(v + at, n));
    }

    /// <summary>o = attention of q over positions first..first+count-1 of a layer, in chunks across the team (DecodeAttention.Run).</summary>
    public void Attend(DecodeAttention attention, ThreadTeam team, int chunks, int layer, int first, int count, float* q, float* o)
    {
        if (Format == WeightFormat.F32)
            attention.Run(team, chunks, q, Keys(layer) + (nint)first * width, Values(layer) + (nint)first * width, count, o);
        else
            attention.Run(team, chunks, q, Pinned.Address(keys16![layer]) + (nint)first * width, Pinned.Address(values16![layer]) + (nint)first * width, count, o);
    }
}
