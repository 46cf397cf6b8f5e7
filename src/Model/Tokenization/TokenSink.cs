using System.Buffers;

namespace DrICL.Model.Tokenization;

/// <summary>Growable (id, offset) output of one Encode call, on pooled arrays; copied out exactly sized at the end.</summary>
internal sealed class TokenSink(int capacity) : IDisposable
{
    private int[] ids = ArrayPool<int>.Shared.Rent(Math.Max(16, capacity));
    private int[] offsets = ArrayPool<int>.Shared.Rent(Math.Max(16, capacity));
    private int count;

    public void Add(int id, int offset)
    {
        if (count == ids.Length) Grow();
        ids[count] = id;
        offsets[count] = offset;
        count++;
    }

    public TokenizedText ToResult() => new(ids.AsSpan(0, count).ToArray(), offsets.AsSpan(0, count).ToArray());

    private void Grow()
    {
        var newIds = ArrayPool<int>.Shared.Rent(ids.Length * 2);
        var newOffsets = ArrayPool<int>.Shared.Rent(ids.Length * 2);
        ids.AsSpan(0, count).CopyTo(newIds);
        offsets.AsSpan(0, count).CopyTo(newOffsets);
        Dispose();
        (ids, offsets) = (newIds, newOffsets);
    }

    public void Dispose()
    {
        if (ids.Length > 0) ArrayPool<int>.Shared.Return(ids);
        if (offsets.Length > 0) ArrayPool<int>.Shared.Return(offsets);
        (ids, offsets) = ([], []);
    }
}
