// bf16.cuh: fp32 -> bf16 conversion for the bf16 attention kernels.
//
// NVRTC here ships no cuda_bf16.h, so bf16 is a 16-bit pattern held in an unsigned short (a tile in shared
// memory) or two of them in an unsigned int (an mma fragment register, see mma.cuh).
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
