// The register-blocked GEMM micro-kernels: c[MR,NR] = (load ? c : 0) + a @ b over kc steps, where a is a
// packed [kc][MR] micro-panel of A and b a packed [kc][NR] micro-panel of B (see Gemm.Fast.cs). Each k
// loads one NR-wide row of b, broadcasts the MR values of a, and does MR x NR/width FMAs into
// accumulators that live in registers for the whole loop; C is read and written once per call.
// The accumulators are spelled out one per variable so the JIT keeps every one of them in a register.

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DrICL.Kernels.Cpu;

public static partial class Gemm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void RunKernel(MicroKernel kernel, float* a, float* b, float* c, nint ldc, int kc, bool load)
    {
        switch (kernel)
        {
            case MicroKernel.Vector512x8x48: Kernel8x48(a, b, c, ldc, kc, load); break;
            case MicroKernel.Vector256x6x16: Kernel6x16(a, b, c, ldc, kc, load); break;
            default: Kernel4x4(a, b, c, ldc, kc, load); break;
        }
    }

    // AVX-512: 24 zmm accumulators + 3 for the row of b + 1 broadcast, of 32 registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Kernel8x48(float* a, float* b, float* c, nint ldc, int kc, bool load)
    {
        Vector512<float> c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32, c40, c41, c42, c50, c51, c52, c60, c61, c62, c70, c71, c72;
        if (load)
        {
            c00 = Vector512.Load(c); c01 = Vector512.Load(c + 16); c02 = Vector512.Load(c + 32);
            c10 = Vector512.Load(c + ldc); c11 = Vector512.Load(c + ldc + 16); c12 = Vector512.Load(c + ldc + 32);
            c20 = Vector512.Load(c + 2 * ldc); c21 = Vector512.Load(c + 2 * ldc + 16); c22 = Vector512.Load(c + 2 * ldc + 32);
            c30 = Vector512.Load(c + 3 * ldc); c31 = Vector512.Load(c + 3 * ldc + 16); c32 = Vector512.Load(c + 3 * ldc + 32);
            c40 = Vector512.Load(c + 4 * ldc); c41 = Vector512.Load(c + 4 * ldc + 16); c42 = Vector512.Load(c + 4 * ldc + 32);
            c50 = Vector512.Load(c + 5 * ldc); c51 = Vector512.Load(c + 5 * ldc + 16); c52 = Vector512.Load(c + 5 * ldc + 32);
            c60 = Vector512.Load(c + 6 * ldc); c61 = Vector512.Load(c + 6 * ldc + 16); c62 = Vector512.Load(c + 6 * ldc + 32);
            c70 = Vector512.Load(c + 7 * ldc); c71 = Vector512.Load(c + 7 * ldc + 16); c72 = Vector512.Load(c + 7 * ldc + 32);
        }
        else
            c00 = c01 = c02 = c10 = c11 = c12 = c20 = c21 = c22 = c30 = c31 = c32 = c40 = c41 = c42 = c50 = c51 = c52 = c60 = c61 = c62 = c70 = c71 = c72 = Vector512<float>.Zero;
        for (int p = 0; p < kc; p++, a += 8, b += 48)
        {
            if (Sse.IsSupported)  // B streams from L2: ask for the row 8 steps ahead, 3 cache lines
            {
                Sse.Prefetch0(b + 8 * 48); Sse.Prefetch0(b + 8 * 48 + 16); Sse.Prefetch0(b + 8 * 48 + 32);
            }
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16); var b2 = Vector512.Load(b + 32);
            Vector512<float> x;
            x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01); c02 = Vector512.FusedMultiplyAdd(x, b2, c02);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11); c12 = Vector512.FusedMultiplyAdd(x, b2, c12);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21); c22 = Vector512.FusedMultiplyAdd(x, b2, c22);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31); c32 = Vector512.FusedMultiplyAdd(x, b2, c32);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41); c42 = Vector512.FusedMultiplyAdd(x, b2, c42);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51); c52 = Vector512.FusedMultiplyAdd(x, b2, c52);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61); c62 = Vector512.FusedMultiplyAdd(x, b2, c62);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71); c72 = Vector512.FusedMultiplyAdd(x, b2, c72);
        }
        Vector512.Store(c00, c); Vector512.Store(c01, c + 16); Vector512.Store(c02, c + 32);
        Vector512.Store(c10, c + ldc); Vector512.Store(c11, c + ldc + 16); Vector512.Store(c12, c + ldc + 32);
        Vector512.Store(c20, c + 2 * ldc); Vector512.Store(c21, c + 2 * ldc + 16); Vector512.Store(c22, c + 2 * ldc + 32);
        Vector512.Store(c30, c + 3 * ldc); Vector512.Store(c31, c + 3 * ldc + 16); Vector512.Store(c32, c + 3 * ldc + 32);
        Vector512.Store(c40, c + 4 * ldc); Vector512.Store(c41, c + 4 * ldc + 16); Vector512.Store(c42, c + 4 * ldc + 32);
        Vector512.Store(c50, c + 5 * ldc); Vector512.Store(c51, c + 5 * ldc + 16); Vector512.Store(c52, c + 5 * ldc + 32);
        Vector512.Store(c60, c + 6 * ldc); Vector512.Store(c61, c + 6 * ldc + 16); Vector512.Store(c62, c + 6 * ldc + 32);
        Vector512.Store(c70, c + 7 * ldc); Vector512.Store(c71, c + 7 * ldc + 16); Vector512.Store(c72, c + 7 * ldc + 32);
    }

    // AVX2: 12 ymm accumulators + 2 for b + 1 broadcast, of 16 registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Kernel6x16(float* a, float* b, float* c, nint ldc, int kc, bool load)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (load)
        {
            c00 = Vector256.Load(c); c01 = Vector256.Load(c + 8);
            c10 = Vector256.Load(c + ldc); c11 = Vector256.Load(c + ldc + 8);
            c20 = Vector256.Load(c + 2 * ldc); c21 = Vector256.Load(c + 2 * ldc + 8);
            c30 = Vector256.Load(c + 3 * ldc); c31 = Vector256.Load(c + 3 * ldc + 8);
            c40 = Vector256.Load(c + 4 * ldc); c41 = Vector256.Load(c + 4 * ldc + 8);
            c50 = Vector256.Load(c + 5 * ldc); c51 = Vector256.Load(c + 5 * ldc + 8);
        }
        else
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
        for (int p = 0; p < kc; p++, a += 6, b += 16)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            Vector256<float> x;
            x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
        }
        Vector256.Store(c00, c); Vector256.Store(c01, c + 8);
        Vector256.Store(c10, c + ldc); Vector256.Store(c11, c + ldc + 8);
        Vector256.Store(c20, c + 2 * ldc); Vector256.Store(c21, c + 2 * ldc + 8);
        Vector256.Store(c30, c + 3 * ldc); Vector256.Store(c31, c + 3 * ldc + 8);
        Vector256.Store(c40, c + 4 * ldc); Vector256.Store(c41, c + 4 * ldc + 8);
        Vector256.Store(c50, c + 5 * ldc); Vector256.Store(c51, c + 5 * ldc + 8);
    }

    // Portable fallback: 16 scalar accumulators.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Kernel4x4(float* a, float* b, float* c, nint ldc, int kc, bool load)
    {
        float* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0, c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        if (load)
        {
            c00 = c0[0]; c01 = c0[1]; c02 = c0[2]; c03 = c0[3];
            c10 = c1[0]; c11 = c1[1]; c12 = c1[2]; c13 = c1[3];
            c20 = c2[0]; c21 = c2[1]; c22 = c2[2]; c23 = c2[3];
            c30 = c3[0]; c31 = c3[1]; c32 = c3[2]; c33 = c3[3];
        }
        for (int p = 0; p < kc; p++, a += 4, b += 4)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float x0 = a[0]; c00 += x0 * b0; c01 += x0 * b1; c02 += x0 * b2; c03 += x0 * b3;
            float x1 = a[1]; c10 += x1 * b0; c11 += x1 * b1; c12 += x1 * b2; c13 += x1 * b3;
            float x2 = a[2]; c20 += x2 * b0; c21 += x2 * b1; c22 += x2 * b2; c23 += x2 * b3;
            float x3 = a[3]; c30 += x3 * b0; c31 += x3 * b1; c32 += x3 * b2; c33 += x3 * b3;
        }
        c0[0] = c00; c0[1] = c01; c0[2] = c02; c0[3] = c03;
        c1[0] = c10; c1[1] = c11; c1[2] = c12; c1[3] = c13;
        c2[0] = c20; c2[1] = c21; c2[2] = c22; c2[3] = c23;
        c3[0] = c30; c3[1] = c31; c3[2] = c32; c3[3] = c33;
    }
}
