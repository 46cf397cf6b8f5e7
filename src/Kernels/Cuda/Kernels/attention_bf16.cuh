// attention_bf16.cuh: shared-memory bf16 tiles and mma fragments for the bf16 attention kernels.
//
// Every staged tile has 64 rows (query rows or keys) of a [rows][d] fp32 matrix in global memory, converted
// to bf16 on the way in; rows past the matrix's end and columns past d read as 0, so the mma over the padded
// head dim DP (32, 64 or 128) sees zeros there. A tile is kept row-major ([64][DP+8]) where a fragment needs
// two adjacent columns of one row, and transposed ([DP][64+8]) where it needs two adjacent rows of one
// column: either way a fragment register is one 32-bit load. The 8 bf16 of padding shift consecutive rows
// by 4 banks, so the 8 row groups of a fragment load hit 32 different banks.
#pragma once
#include "bf16.cuh"
#include "mma.cuh"

constexpr int ATT16_TILE = 64;                        // rows of a staged tile
constexpr int ATT16_PAD = 8;                          // bf16 of padding per shared row
constexpr int ATT16_TSTRIDE = ATT16_TILE + ATT16_PAD; // row length of a transposed tile

// src: row r of the matrix at src + r * row_stride; rows: how many of the tile's 64 exist.
// -> dst: [64][DP+8] bf16, row-major
template <int DP>
inline void stage_rows(unsigned short* dst, const float* src, long long row_stride, int rows, int d)
{
    unsigned* words = (unsigned*)dst;
    for (int idx = threadIdx.x; idx < ATT16_TILE * DP / 2; idx += blockDim.x)
    {
        int r = idx / (DP / 2), c = 2 * (idx - r * (DP / 2));
        const float* row = src + r * row_stride;
        float x0 = r < rows && c < d ? row[c] : 0.f;
        float x1 = r < rows && c + 1 < d ? row[c + 1] : 0.f;
        words[r * ((DP + ATT16_PAD) / 2) + c / 2] = pack_bf16(x0, x1);
    }
}

// The same tile transposed -> dst: [DP][64+8] bf16, dst[c][r] = src row r, column c.
// Consecutive threads take consecutive columns, so the global reads stay coalesced.
template <int DP>
inline void stage_cols(unsigned short* dst, const float* src, long long row_stride, int rows, int d)
{
    unsigned* words = (unsigned*)dst;
    for (int idx = threadIdx.x; idx < ATT16_TILE / 2 * DP; idx += blockDim.x)
    {
        int rp = idx / DP, c = idx - rp * DP, r = 2 * rp;
        float x0 = r < rows && c < d ? src[r * row_stride + c] : 0.f;
        float x1 = r + 1 < rows && c < d ? src[(r + 1) * row_stride + c] : 0.f;
        words[c * (ATT16_TSTRIDE / 2) + rp] = pack_bf16(x0, x1);
    }
}

// A fragment of the 16x16 block at (row0, col0) of a row-major bf16 tile of `stride` elements per row.
inline void load_a(unsigned (&a)[4], const unsigned short* tile, int stride, int row0, int col0)
{
    int lane = threadIdx.x & 31;
    const unsigned short* p = tile + (row0 + (lane >> 2)) * stride + col0 + 2 * (lane & 3);
    a[0] = *(const unsigned*)p;
    a[1] = *(const unsigned*)(p + 8 * stride);
    a[2] = *(const unsigned*)(p + 8);
    a[3] = *(const unsigned*)(p + 8 * stride + 8);
}

// B fragment of the 16x8 block B[k0..k0+15][n0..n0+7] from a tile holding B transposed (tile row n is
// B's column n, k along the row): the "col" operand layout, two adjacent k in one register.
inline void load_b(unsigned (&b)[2], const unsigned short* tile, int stride, int n0, int k0)
{
    int lane = threadIdx.x & 31;
    const unsigned short* p = tile + (n0 + (lane >> 2)) * stride + k0 + 2 * (lane & 3);
    b[0] = *(const unsigned*)p;
    b[1] = *(const unsigned*)(p + 8);
}

// The A fragment of columns 16 kk..16 kk+15 of a 16-row fp32 mma result held as its n-tiles lo = 2 kk and
// hi = 2 kk + 1: a C fragment's (row, column) pairs are exactly an A fragment's, so P and dS never
// leave registers between the two products (FlashAttention-2).
inline void c_to_a(unsigned (&a)[4], const float (&lo)[4], const float (&hi)[4])
{
    a[0] = pack_bf16(lo[0], lo[1]);
    a[1] = pack_bf16(lo[2], lo[3]);
    a[2] = pack_bf16(hi[0], hi[1]);
    a[3] = pack_bf16(hi[2], hi[3]);
}
