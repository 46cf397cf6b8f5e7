// Packing bfloat16 weights for the prefill projections: dst[q*W + r] = widen(src[r*ld + q]), the layout of
// PackTransposed (Gemm.Fast.cs), each value widened to fp32 on the way.
//
// A weight row runs along K, the packed panel across it, so packing is a transpose. With AVX-512 it goes 16 rows
// by 32 values at a time: each row's 32 values are one cache line, loaded as 16 pairs (32-bit lanes). A 16x16
// transpose of the pairs, in four rounds of shuffles, gathers pair m of all 16 rows into one register; the pair's
// low halves, shifted up, are the 16 widened values of step 2m and its high halves, masked, those of step 2m+1.
// Widening is then two cheap ops on the transposed register instead of a conversion per loaded value, and the
// shuffles, the port packing competes for, number 64 per 512 values: about a quarter of the 8x8 path's
// (a widening load and shift per 8 values, then an 8x8 transpose of floats), which serves AVX2 and the
// remainder of K below 32.

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DrICL.Kernels.Cpu;

public static partial class Gemm
{
    // PackTransposed of bfloat16 values, widened; rows w..W-1 of the panel are zero.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void PackTransposedBf16(ushort* src, nint ld, int kc, int w, int W, float* dst)
    {
        int p = 0;
        if (Avx512F.IsSupported && w == W && W % 16 == 0)
            for (; p + 32 <= kc; p += 32)
                for (int r = 0; r < W; r += 16)
                    WidenTransposed16x32(src + r * ld + p, ld, dst + p * W + r, W);
        if (Avx2.IsSupported && w == W && W % 8 == 0)
        {
            float* tile = stackalloc float[64];
            for (; p + 8 <= kc; p += 8)
                for (int r = 0; r < W; r += 8)
                {
                    for (int i = 0; i < 8; i++)
                        Avx.Store(tile + 8 * i, Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(src + (r + i) * ld + p), 16).AsSingle());
                    Transpose8x8(tile, 8, dst + p * W + r, W);
                }
        }
        for (int r = 0; r < W; r++)
            for (int q = p; q < kc; q++)
                dst[q * W + r] = r < w ? Bf16.ToFloat(src[r * ld + q]) : 0;
    }

    // d[q*ldd + i] = widen(s[i*ld + q]) for 16 rows i and 32 steps q.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void WidenTransposed16x32(ushort* s, nint ld, float* d, nint ldd)
    {
        var r0 = Vector512.Load((uint*)s); var r1 = Vector512.Load((uint*)(s + ld));
        var r2 = Vector512.Load((uint*)(s + 2 * ld)); var r3 = Vector512.Load((uint*)(s + 3 * ld));
        var r4 = Vector512.Load((uint*)(s + 4 * ld)); var r5 = Vector512.Load((uint*)(s + 5 * ld));
        var r6 = Vector512.Load((uint*)(s + 6 * ld)); var r7 = Vector512.Load((uint*)(s + 7 * ld));
        var r8 = Vector512.Load((uint*)(s + 8 * ld)); var r9 = Vector512.Load((uint*)(s + 9 * ld));
        var r10 = Vector512.Load((uint*)(s + 10 * ld)); var r11 = Vector512.Load((uint*)(s + 11 * ld));
        var r12 = Vector512.Load((uint*)(s + 12 * ld)); var r13 = Vector512.Load((uint*)(s + 13 * ld));
        var r14 = Vector512.Load((uint*)(s + 14 * ld)); var r15 = Vector512.Load((uint*)(s + 15 * ld));
        InterleaveFour(ref r0, ref r1, ref r2, ref r3);
        InterleaveFour(ref r4, ref r5, ref r6, ref r7);
        InterleaveFour(ref r8, ref r9, ref r10, ref r11);
        InterleaveFour(ref r12, ref r13, ref r14, ref r15);
        StoreWidenedPairs(r0, r4, r8, r12, d, ldd);
        StoreWidenedPairs(r1, r5, r9, r13, d + 2 * ldd, ldd);
        StoreWidenedPairs(r2, r6, r10, r14, d + 4 * ldd, ldd);
        StoreWidenedPairs(r3, r7, r11, r15, d + 6 * ldd, ldd);
    }

    // Four rows of 16 pairs in, four registers out: register e holds, in its 128-bit lane L, pair 4L+e of the
    // four rows in order (the first two rounds of the transpose, within lanes).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void InterleaveFour(ref Vector512<uint> r0, ref Vector512<uint> r1, ref Vector512<uint> r2, ref Vector512<uint> r3)
    {
        var t0 = Avx512F.UnpackLow(r0, r1).AsUInt64(); var t1 = Avx512F.UnpackHigh(r0, r1).AsUInt64();
        var t2 = Avx512F.UnpackLow(r2, r3).AsUInt64(); var t3 = Avx512F.UnpackHigh(r2, r3).AsUInt64();
        r0 = Avx512F.UnpackLow(t0, t2).AsUInt32();
        r1 = Avx512F.UnpackHigh(t0, t2).AsUInt32();
        r2 = Avx512F.UnpackLow(t1, t3).AsUInt32();
        r3 = Avx512F.UnpackHigh(t1, t3).AsUInt32();
    }

    // Register e of InterleaveFour for rows 0-3 (a), 4-7 (b), 8-11 (c) and 12-15 (d): the last two rounds, across
    // lanes, give pairs e, 4+e, 8+e and 12+e of all 16 rows, stored widened as steps 2e, 2e+1, 8+2e, ... of d.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void StoreWidenedPairs(Vector512<uint> a, Vector512<uint> b, Vector512<uint> c, Vector512<uint> d, float* dst, nint ldd)
    {
        var ab01 = Avx512F.Shuffle4x128(a, b, 0x44); var ab23 = Avx512F.Shuffle4x128(a, b, 0xEE);  // lanes 0,1 (2,3) of a, then of b
        var cd01 = Avx512F.Shuffle4x128(c, d, 0x44); var cd23 = Avx512F.Shuffle4x128(c, d, 0xEE);
        StoreWidened(Avx512F.Shuffle4x128(ab01, cd01, 0x88), dst, ldd);             // lane 0 of a, b, c, d
        StoreWidened(Avx512F.Shuffle4x128(ab01, cd01, 0xDD), dst + 8 * ldd, ldd);   // lane 1
        StoreWidened(Avx512F.Shuffle4x128(ab23, cd23, 0x88), dst + 16 * ldd, ldd);  // lane 2
        StoreWidened(Avx512F.Shuffle4x128(ab23, cd23, 0xDD), dst + 24 * ldd, ldd);  // lane 3
    }

    // One pair of bfloat16 per lane: the low one (the earlier step) shifted into a float's top half, the high one masked.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void StoreWidened(Vector512<uint> pairs, float* dst, nint ldd)
    {
        Vector512.Store(Vector512.ShiftLeft(pairs, 16).AsSingle(), dst);
        Vector512.Store((pairs & Vector512.Create(0xFFFF0000u)).AsSingle(), dst + ldd);
    }
}
