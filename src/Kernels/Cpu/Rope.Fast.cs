// RoPE, fast path. The angles depend only on the frequencies and the position, so they live in a table per
// RopeFrequencies, built from the same float32 expressions as Rope.Angle (so results match the
// reference bit for bit) and grown, copy-on-write, to the largest position seen. Each head is then
// x0' = x0 cos - x1 sin, x1' = x1 cos + x0 sin over its two halves in Vector512/Vector256 steps with a
// scalar tail (no FMA contraction, to keep the reference's rounding). Rows of [B*T] run one range per core.

using System.Collections.Concurrent;
using System.Runtime.Intrinsics;

namespace DrICL.Kernels.Cpu;

public static partial class Rope
{
    // x: [B,T,H,D] in place, positions: [B,T]
    public static unsafe void Apply(Span<float> x, ReadOnlySpan<int> positions, int b, int t, int h, int d, RopeFrequencies frequencies, bool inverse)
    {
        CheckHeadDim(d, frequencies);
        int rows = b * t, half = d / 2;
        Work.Need(x.Length, (long)rows * h * d, nameof(x));
        Work.Need(positions.Length, rows, nameof(positions));
        int maxPos = 0;
        foreach (var p in positions[..rows]) maxPos = Math.Max(maxPos, p);
        var table = AngleTable.Get(frequencies, maxPos + 1);
        fixed (float* px = x, pcos = table.Cos, psin = table.Sin)
        fixed (int* ppos = positions)
        {
            nint xs = (nint)px, coss = (nint)pcos, sins = (nint)psin, poss = (nint)ppos;
            Work.For(rows, (long)h * d, (r0, r1) =>
            {
                float* cosRow = stackalloc float[half], sinRow = stackalloc float[half];
                for (int bt = r0; bt < r1; bt++)
                {
                    int pos = ((int*)poss)[bt];
                    float* cos = (float*)coss + (nint)pos * half, sin = (float*)sins + (nint)pos * half;
                    if (pos < 0)
                    {
                        for (int i = 0; i < half; i++) (sinRow[i], cosRow[i]) = Angle(pos, frequencies.Inverse[i]);
                        cos = cosRow;
                        sin = sinRow;
                    }
                    for (int head = 0; head < h; head++)
                    {
                        float* x0 = (float*)xs + ((nint)bt * h + head) * d;
                        Rotate(x0, x0 + half, cos, sin, half, inverse);
                    }
                }
            });
        }
    }

    static unsafe void Rotate(float* x0, float* x1, float* cos, float* sin, int half, bool inverse)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= half; i += 16)
            {
                var a = Vector512.Load(x0 + i); var b = Vector512.Load(x1 + i);
                var c = Vector512.Load(cos + i); var s = Vector512.Load(sin + i);
                if (inverse) s = -s;
                Vector512.Store(a * c - b * s, x0 + i);
                Vector512.Store(b * c + a * s, x1 + i);
            }
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= half; i += 8)
            {
                var a = Vector256.Load(x0 + i); var b = Vector256.Load(x1 + i);
                var c = Vector256.Load(cos + i); var s = Vector256.Load(sin + i);
                if (inverse) s = -s;
                Vector256.Store(a * c - b * s, x0 + i);
                Vector256.Store(b * c + a * s, x1 + i);
            }
        for (; i < half; i++)
        {
            float a = x0[i], b = x1[i], c = cos[i], s = inverse ? -sin[i] : sin[i];
            x0[i] = a * c - b * s;
            x1[i] = b * c + a * s;
        }
    }

    /// <summary>cos and sin of every (position, pair) for one set of frequencies, [positions, D/2] row-major.</summary>
    sealed class AngleTable
    {
        static readonly ConcurrentDictionary<RopeFrequencies, AngleTable> tables = new();

        public readonly float[] Cos, Sin;
        readonly int positions;

        AngleTable(RopeFrequencies frequencies, int positions, AngleTable? grown)
        {
            int half = frequencies.Inverse.Length, have = grown?.positions ?? 0;
            this.positions = positions;
            Cos = new float[positions * half];
            Sin = new float[positions * half];
            grown?.Cos.CopyTo(Cos, 0);
            grown?.Sin.CopyTo(Sin, 0);
            for (int pos = have; pos < positions; pos++)
                for (int i = 0; i < half; i++)
                    (Sin[pos * half + i], Cos[pos * half + i]) = Angle(pos, frequencies.Inverse[i]);
        }

        public static AngleTable Get(RopeFrequencies key, int positions)
        {
            if (tables.TryGetValue(key, out var table) && table.positions >= positions) return table;
            lock (tables)
            {
                tables.TryGetValue(key, out table);
                if (table == null || table.positions < positions)
                    tables[key] = table = new AngleTable(key, Math.Max(positions, 2 * (table?.positions ?? 0)), table);
                return table;
            }
        }
    }
}
