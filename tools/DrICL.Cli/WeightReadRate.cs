using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DrICL.Model.Inference;

namespace DrICL.Cli;

/// <summary>
/// How fast the machine reads the weight bytes of one decode step where they lie (the memory-mapped file, or
/// pinned arrays): every layer's matrices and the lm_head, summed as 32-bit words with no other work. The
/// matrices are taken as one concatenation cut into a contiguous range per thread, so a pass is one fork-join.
/// That is the ceiling of a decode step's weight stream from wherever the model sits. The STREAM triad
/// measures DRAM; a small model (stories15M: 30 MB in bf16, 61 MB in float32) stays in L3 and reads faster.
/// </summary>
public sealed unsafe class WeightReadRate
{
    readonly (nint Address, long Bytes)[] pieces;
    uint sink;  // keeps the sums alive

    public WeightReadRate(InferenceWeights weights)
    {
        pieces = weights.StepMatrices.Select(m => ((nint)m.Data, m.Bytes)).ToArray();
        Bytes = pieces.Sum(p => p.Bytes);
    }

    /// <summary>Bytes one pass reads: InferenceWeights.StepMatrices, a decode step's weight bytes but for its one embedding row.</summary>
    public long Bytes { get; }

    /// <summary>The best read rate, GB/s, of passes over the bytes on threads threads.</summary>
    public double Measure(int threads, int passes)
    {
        double best = 0;
        for (int i = 0; i < passes; i++)
        {
            long start = Stopwatch.GetTimestamp();
            sink += Checksum(threads);
            best = Math.Max(best, Bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);
        }
        return best;
    }

    /// <summary>The wrapping sum of every matrix's 32-bit words (a last odd 16 bits added alone), on threads threads.</summary>
    public uint Checksum(int threads)
    {
        var sums = new uint[threads];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var (piece, offset) = Split(t, threads);
            var (endPiece, endOffset) = Split(t + 1, threads);
            uint sum = 0;
            for (; piece < endPiece || (piece == endPiece && offset < endOffset); piece++, offset = 0)
            {
                long end = piece == endPiece ? endOffset : pieces[piece].Bytes;
                sum += Sum((byte*)pieces[piece].Address + offset, end - offset);
            }
            sums[t] = sum;
        });
        uint total = 0;
        foreach (uint s in sums) total += s;
        return total;
    }

    // Where thread t's range starts: the piece holding byte t·Bytes/threads of the concatenation, the offset in it
    // rounded down to 64 bytes, so every word is summed whole and by one thread whatever the count.
    (int Piece, long Offset) Split(int t, int threads)
    {
        if (t == threads) return (pieces.Length - 1, pieces[^1].Bytes);
        long at = (long)(t * (double)Bytes / threads);
        int piece = 0;
        while (at >= pieces[piece].Bytes) at -= pieces[piece++].Bytes;
        return (piece, at & ~63L);
    }

    // Optimized from the first call: a loop method otherwise starts at tier 0, which reads at half the rate.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static uint Sum(byte* p, long bytes)
    {
        long i = 0;
        uint sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<uint> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 256 <= bytes; i += 256)
            {
                a0 += Vector512.Load((uint*)(p + i));
                a1 += Vector512.Load((uint*)(p + i + 64));
                a2 += Vector512.Load((uint*)(p + i + 128));
                a3 += Vector512.Load((uint*)(p + i + 192));
            }
            sum = Vector512.Sum(a0 + a1 + a2 + a3);
        }
        for (; i + 4 <= bytes; i += 4) sum += *(uint*)(p + i);
        if (i + 2 <= bytes) sum += *(ushort*)(p + i);
        return sum;
    }
}
