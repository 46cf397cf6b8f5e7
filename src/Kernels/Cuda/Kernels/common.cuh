// common.cuh: helpers shared by the kernel files.
//
// Reductions use warp shuffles (__shfl_xor_sync: every lane ends with the result, no shared memory),
// then one shared slot per warp to combine warps. Kernels are compiled with -default-device, so plain
// inline functions here are device functions. NVRTC has no <math.h>: infinity comes from its bit pattern.
#pragma once

#define FULL_MASK 0xffffffffu
#define NEG_INF __int_as_float(0xff800000)

inline float warp_sum(float x)
{
    for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(FULL_MASK, x, offset);
    return x;
}

inline double warp_sum(double x)
{
    for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(FULL_MASK, x, offset);
    return x;
}

inline float warp_max(float x)
{
    for (int offset = 16; offset > 0; offset >>= 1) x = fmaxf(x, __shfl_xor_sync(FULL_MASK, x, offset));
    return x;
}

// Sum over a block whose size is a multiple of 32; every thread gets the result.
// scratch: 32 values of shared memory, reusable by the next call.
template <typename T>
inline T block_sum(T x, T* scratch)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    x = warp_sum(x);
    __syncthreads(); // a previous call may still be reading scratch
    if (lane == 0) scratch[warp] = x;
    __syncthreads();
    x = lane < warps ? scratch[lane] : T(0);
    return warp_sum(x);
}
