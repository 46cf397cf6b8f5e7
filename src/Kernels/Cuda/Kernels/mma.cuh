// mma.cuh: the one tensor-core instruction the bf16 attention kernels use, and the only inline PTX in the
// kernels (the CPU emulator in tools/cuda-emulator replaces this file, and only this file).
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (sm_80+): D[16x8] = A[16x16] B[16x8] + C, fp32
// accumulation. Fragments, per the PTX ISA, with g = lane / 4 and t = lane % 4, each register holding two
// bf16 of adjacent columns (A, C) or rows (B), the lower index in the low half:
//   A (row-major 16x16): a0 (row g, cols 2t, 2t+1), a1 (row g+8, cols 2t..), a2 (row g, cols 2t+8..), a3 (row g+8, cols 2t+8..)
//   B ("col": 16x8 stored column by column): b0 (rows 2t, 2t+1, col g), b1 (rows 2t+8, 2t+9, col g)
//   C, D (fp32 16x8): c0, c1 (row g, cols 2t, 2t+1), c2, c3 (row g+8, cols 2t, 2t+1)
#pragma once

// c += a b for one m16n8k16 tile; every lane of the warp must call it together.
inline void mma_bf16_16816(float (&c)[4], const unsigned (&a)[4], const unsigned (&b)[2])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
