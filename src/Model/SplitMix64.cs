namespace DrICL.Model;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit state, integer-only, so every sample is identical across runs,
/// runtimes and platforms, unlike System.Random whose algorithm is not a stable contract. Seed 0 yields
/// 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, … .
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    ulong state = seed;

    public ulong NextUInt64()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, bound) without modulo bias (Lemire's multiply-and-reject).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        ulong range = (ulong)bound;
        ulong high = Math.BigMul(NextUInt64(), range, out ulong low);
        if (low < range)
        {
            ulong threshold = (0UL - range) % range;
            while (low < threshold) high = Math.BigMul(NextUInt64(), range, out low);
        }
        return (int)high;
    }

    /// <summary>Fisher–Yates, from the last element down.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary><paramref name="count"/> distinct indices of [0, <paramref name="populationSize"/>) in draw order (a partial Fisher–Yates from the front).</summary>
    public int[] SampleWithoutReplacement(int populationSize, int count)
    {
        if (count < 0 || count > populationSize)
            throw new ArgumentOutOfRangeException(nameof(count), $"cannot draw {count} distinct items from {populationSize}");
        var indices = new int[populationSize];
        for (int i = 0; i < populationSize; i++) indices[i] = i;
        for (int i = 0; i < count; i++)
        {
            int j = i + NextInt(populationSize - i);
            (indices[i], indices[j]) = (indices[j], indices[i]);
        }
        return indices[..count];
    }

    /// <summary>A seed derived from a base seed and a name (FNV-1a over UTF-16 code units, then one SplitMix64 step), for per-task streams.</summary>
    public static ulong DeriveSeed(ulong seed, string name)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (char c in name) hash = (hash ^ c) * 0x100000001B3UL;
        return new SplitMix64(seed ^ hash).NextUInt64();
    }
}
