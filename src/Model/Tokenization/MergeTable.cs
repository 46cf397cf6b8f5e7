using System.Numerics;

namespace DrICL.Model.Tokenization;

/// <summary>
/// BPE merges as an open-addressing hash table: (left id, right id) -> (rank, merged id). The merge loop
/// looks up every adjacent pair of symbols; a multiplicative hash of the packed pair with linear probing
/// is several times faster there than Dictionary&lt;long, long&gt;, whose hash (left ^ right) collides a lot.
/// </summary>
internal sealed class MergeTable
{
    private readonly long[] keys;   // packed pair, -1 when empty (ids are non-negative)
    private readonly long[] values; // packed (rank, merged id)
    private readonly int shift;
    private readonly int mask;

    public MergeTable(IReadOnlyList<(int Left, int Right, int Merged)> merges)
    {
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, merges.Count * 2));
        keys = new long[capacity];
        values = new long[capacity];
        Array.Fill(keys, -1L);
        mask = capacity - 1;
        shift = 64 - BitOperations.Log2((uint)capacity);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right, merged) = merges[rank];
            int slot = Find(Pack(left, right));
            keys[slot] = Pack(left, right); // a repeated pair keeps its last rank, as in Hugging Face
            values[slot] = ((long)rank << 32) | (uint)merged;
        }
    }

    public bool TryGet(int left, int right, out int rank, out int merged)
    {
        int slot = Find(Pack(left, right));
        long value = values[slot];
        bool found = keys[slot] >= 0;
        rank = found ? (int)(value >> 32) : int.MaxValue;
        merged = (int)value;
        return found;
    }

    private static long Pack(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>The slot holding <paramref name="key"/>, or the empty slot where it would go.</summary>
    private int Find(long key)
    {
        int slot = (int)((ulong)key * 0x9E3779B97F4A7C15UL >> shift);
        while (keys[slot] != key && keys[slot] >= 0) slot = (slot + 1) & mask;
        return slot;
    }
}
