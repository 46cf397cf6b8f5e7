using System.Numerics;
using System.Runtime.InteropServices;

namespace DrICL.Model.Tokenization;

/// <summary>
/// Ordinal string equality with a cheap multiplicative hash, looked up by span without allocating. The
/// word cache hashes every piece of every text, and the default randomized (Marvin) string hash is several
/// times slower there; flooding it gains an attacker nothing since the cache is bounded.
/// </summary>
internal sealed class PieceComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
{
    public static readonly PieceComparer Instance = new();

    public bool Equals(string? x, string? y) => string.Equals(x, y);
    public int GetHashCode(string s) => Hash(s);
    public bool Equals(ReadOnlySpan<char> alternate, string other) => alternate.SequenceEqual(other);
    public int GetHashCode(ReadOnlySpan<char> alternate) => Hash(alternate);
    public string Create(ReadOnlySpan<char> alternate) => alternate.ToString();

    private static int Hash(ReadOnlySpan<char> s)
    {
        const ulong K = 0x9E3779B97F4A7C15UL;
        ulong h = (ulong)s.Length * K;
        var words = MemoryMarshal.Cast<char, ulong>(s);
        foreach (ulong w in words) h = BitOperations.RotateLeft((h ^ w) * K, 29);
        for (int i = words.Length * 4; i < s.Length; i++) h = BitOperations.RotateLeft((h ^ s[i]) * K, 29);
        return (int)(h ^ (h >> 32));
    }
}
