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
    readonly float[]? keys32, values32;   // pinned; float32 cache
    readonly ushort[]? keys16, values16;  // pinned; bf16 cache
    readonly int context, width;

    public WeightFormat Format { get; }

    public DecodeCache(int layers, int context, int width, WeightFormat format)
    {
        (this.context, this.width, Format) = (context, width, format);
        long n = (long)layers * context * width;
        if (format == WeightFormat.F32)
        {
            keys32 = Pinned.Floats(n);
            values32 = Pinned.Floats(n);
        }
        else
        {
            keys16 = GC.AllocateArray<ushort>(checked((int)n), pinned: true);
            values16 = GC.AllocateArray<ushort>(checked((int)n), pinned: true);
        }
    }

    nint Row(int layer, int pos) => ((nint)layer * context + pos) * width;

    /// <summary>Float32 cache only: the keys of a layer from position 0, where a prefill projects its rows in place.</summary>
    public float* Keys(int layer) => Pinned.Address(keys32 ?? throw new InvalidOperationException("a bf16 cache has no float32 rows")) + Row(layer, 0);

    /// <summary>Float32 cache only: the values of a layer from position 0.</summary>
    public float* Values(int layer) => Pinned.Address(values32 ?? throw new InvalidOperationException("a bf16 cache has no float32 rows")) + Row(layer, 0);

    /// <summary>
    /// Stores count rows of keys and values (k, v: [count, width]) at positions pos.. of a layer. A bf16 cache rounds
    /// them, and k and v are left holding the rounded values.
    /// </summary>
    public void Write(int layer, int pos, int count, float* k, float* v)
    {
        int n = count * width;
        if (Format == WeightFormat.F32)
        {
            new ReadOnlySpan<float>(k, n).CopyTo(new Span<float>(Keys(layer) + Row(0, pos), n));
            new ReadOnlySpan<float>(v, n).CopyTo(new Span<float>(Values(layer) + Row(0, pos), n));
        }
        else
        {
            Bf16.RoundTo(new Span<float>(k, n), keys16.AsSpan((int)Row(layer, pos), n));
            Bf16.RoundTo(new Span<float>(v, n), values16.AsSpan((int)Row(layer, pos), n));
        }
    }

    /// <summary>Bf16 cache only: rows 0..count-1 of a layer widened to float32 into k and v ([count, width] each).</summary>
    public void Widen(int layer, int count, float* k, float* v)
    {
        if (Format != WeightFormat.Bf16) throw new InvalidOperationException("a float32 cache is read in place");
        int n = count * width;
        Bf16.ToFloats(keys16.AsSpan((int)Row(layer, 0), n), new Span<float>(k, n));
        Bf16.ToFloats(values16.AsSpan((int)Row(layer, 0), n), new Span<float>(v, n));
    }

    /// <summary>o = attention of q over positions first..first+count-1 of a layer, in chunks across the team (DecodeAttention.Run).</summary>
    public void Attend(DecodeAttention attention, ThreadTeam team, int chunks, int layer, int first, int count, float* q, float* o)
    {
        if (Format == WeightFormat.F32)
            attention.Run(team, chunks, q, Keys(layer) + Row(0, first), Values(layer) + Row(0, first), count, o);
        else
            attention.Run(team, chunks, q, Pinned.Address(keys16!) + Row(layer, first), Pinned.Address(values16!) + Row(layer, first), count, o);
    }
}
