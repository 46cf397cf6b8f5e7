// mma.cuh, emulator version: build.sh puts it in place of src/Kernels/Cuda/Kernels/mma.cuh (the kernels'
// own bf16.cuh stays). The mma is a warp-wide exchange of every lane's fragment registers through
// barriers, then each lane computes its 4 outputs from the PTX fragment layout.
#pragma once
struct EmuMmaLane { unsigned a[4], b[2]; };
static EmuMmaLane emu_mma_lanes[32][32]; // [warp][lane]
inline float emu_bf16_half(unsigned reg, int k) { return __uint_as_float(((k & 1) ? reg >> 16 : reg & 0xffffu) << 16); }
// A(r, k): lane (r % 8) * 4 + (k % 8) / 2, register (r >= 8) + 2 (k >= 8), half k & 1
inline float emu_a(const EmuMmaLane* l, int r, int k) { return emu_bf16_half(l[(r & 7) * 4 + ((k & 7) >> 1)].a[(r >> 3) + 2 * (k >> 3)], k); }
// B(k, n): lane n * 4 + (k % 8) / 2, register k >= 8, half k & 1
inline float emu_b(const EmuMmaLane* l, int k, int n) { return emu_bf16_half(l[n * 4 + ((k & 7) >> 1)].b[k >> 3], k); }

inline void mma_bf16_16816(float (&c)[4], const unsigned (&a)[4], const unsigned (&b)[2])
{
    int w = emu_current->warp, lane = emu_current->lane;
    Warp& warp = emu_warps[w];
    if (warp.alive != 32) { fprintf(stderr, "fake: mma with %d live lanes\n", warp.alive); abort(); }
    memcpy(emu_mma_lanes[w][lane].a, a, sizeof a);
    memcpy(emu_mma_lanes[w][lane].b, b, sizeof b);
    emu_wait(warp.bar, warp.alive);
    const EmuMmaLane* l = emu_mma_lanes[w];
    int g = lane >> 2, t = lane & 3;
    float d[4];
    for (int e = 0; e < 4; e++)
    {
        int r = g + 8 * (e >> 1), n = 2 * t + (e & 1);
        float acc = c[e];
        for (int k = 0; k < 16; k++) acc += emu_a(l, r, k) * emu_b(l, k, n); // bf16 x bf16 is exact in fp32
        d[e] = acc;
    }
    emu_wait(warp.bar, warp.alive); // every lane has read the exchange
    for (int e = 0; e < 4; e++) c[e] = d[e];
}
