// mma.cuh: bf16 conversion and the one tensor-core instruction the bf16 attention kernels use.
//
// The only inline PTX in the kernels. NVRTC here ships no cuda_bf16.h, so bf16 is a 16-bit pattern held in
// an unsigned short (a tile in shared memory) or two of them in an unsigned int (a fragment register).
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (sm_80+): D[16x8] = A[16x16] B[16x8] + C, fp32
// accumulation. Fragments, per the PTX ISA, with g = lane / 4 and t = lane % 4, each register holding two
// bf16 of adjacent columns (A, C) or rows (B), the lower index in the low half:
//   A (row-major 16x16): a0 (row g, cols 2t, 2t+1), a1 (row g+8, cols 2t..), a2 (row g, cols 2t+8..), a3 (row g+8, cols 2t+8..)
//   B ("col": 16x8 stored column by column): b0 (rows 2t, 2t+1, col g), b1 (rows 2t+8, 2t+9, col g)
//   C, D (fp32 16x8): c0, c1 (row g, cols 2t, 2t+1), c2, c3 (row g+8, cols 2t, 2t+1)
#pragma once

// fp32 -> bf16 bits, rounding to nearest even; NaN stays a (quiet) NaN rather than rounding into infinity.
inline unsigned short bf16_bits(float x)
{
    unsigned u = __float_as_uint(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
    return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// Two floats as one register of two bf16: lo in bits 0..15 (the lower row or column index), hi in 16..31.
inline unsigned pack_bf16(float lo, float hi) { return (unsigned)bf16_bits(lo) | ((unsigned)bf16_bits(hi) << 16); }

// c += a b for one m16n8k16 tile; every lane of the warp must call it together.
inline void mma_bf16_16816(float (&c)[4], const unsigned (&a)[4], const unsigned (&b)[2])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
