namespace DrICL.Kernels.Cpu;

/// <summary>Token embedding lookup and its scatter-add backward.</summary>
public static partial class Embedding
{
    // table: [V,C], ids: [N] -> y: [N,C]
    public static void ForwardReference(ReadOnlySpan<float> table, ReadOnlySpan<int> ids, Span<float> y, int vocab, int c)
    {
        for (int t = 0; t < ids.Length; t++)
        {
            int id = CheckId(ids[t], vocab);
            table.Slice(id * c, c).CopyTo(y.Slice(t * c, c));
        }
    }

    // dy: [N,C] -> dtable: [V,C] accumulated
    public static void BackwardReference(ReadOnlySpan<float> dy, ReadOnlySpan<int> ids, Span<float> dtable, int vocab, int c)
    {
        for (int t = 0; t < ids.Length; t++)
        {
            int id = CheckId(ids[t], vocab);
            for (int i = 0; i < c; i++) dtable[id * c + i] += dy[t * c + i];
        }
    }

    internal static int CheckId(int id, int vocab) =>
        (uint)id < (uint)vocab ? id : throw new ArgumentOutOfRangeException(nameof(id), $"token id {id} is outside the vocabulary of {vocab}");
}
