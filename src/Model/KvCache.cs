using DrICL.Kernels;
using DrICL.Model.Autograd;

namespace DrICL.Model;

/// <summary>
/// Keys and values of every generated position for one sequence, per layer: [capacity, KV*D] each.
/// Decoding appends the new tokens' rotated keys and values, then attends over the filled rows only.
/// </summary>
public sealed class KvCache
{
    readonly Tensor[] keys, values;

    public int Capacity { get; }
    public int Length { get; private set; }

    public KvCache(ModelConfig config, IDevice device, int capacity)
    {
        Capacity = capacity;
        int width = config.KvHeads * config.HeadDim;
        keys = new Tensor[config.Layers];
        values = new Tensor[config.Layers];
        for (int l = 0; l < config.Layers; l++)
        {
            keys[l] = device.Zeros(capacity, width);
            values[l] = device.Zeros(capacity, width);
        }
    }

    /// <summary>Writes k, v ([T, KV*D]) after the cached rows of layer l and returns the filled part.</summary>
    internal (Var K, Var V) Append(int layer, Tensor k, Tensor v)
    {
        int end = Length + k.Rows;
        if (end > Capacity) throw new InvalidOperationException($"KV cache of {Capacity} positions is full");
        k.Device.CopyRows(k, keys[layer], Length);
        v.Device.CopyRows(v, values[layer], Length);
        return (new Var(keys[layer].SliceRows(0, end)), new Var(values[layer].SliceRows(0, end)));
    }

    internal void Advance(int count) => Length += count;
}
