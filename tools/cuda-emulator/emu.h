// CPU emulation of the CUDA execution model for testing kernel logic: every CUDA thread is a fiber
// (ucontext); blocks run one at a time; __syncthreads and warp collectives are barriers between fibers.
#pragma once
#include <ucontext.h>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <atomic>
#include <algorithm>
#include <functional>

struct dim3 { unsigned x = 1, y = 1, z = 1; };
struct Fiber { ucontext_t ctx; dim3 tid; bool done; int warp, lane; };
struct Barrier { int arrived = 0; long gen = 0; };
struct Warp { Barrier bar; int alive; unsigned long long slot[32]; };

extern Fiber* emu_current;
extern ucontext_t emu_sched;
extern dim3 emu_block_idx, emu_block_dim, emu_grid_dim;
extern int emu_block_alive;
extern Barrier emu_block_barrier;
extern std::vector<Warp> emu_warps;
extern float* emu_dynamic_smem;

#define threadIdx (emu_current->tid)
#define blockIdx emu_block_idx
#define blockDim emu_block_dim
#define gridDim emu_grid_dim
#define __global__
#define __device__
#define __launch_bounds__(x)
#define __shared__ static

inline void emu_yield() { swapcontext(&emu_current->ctx, &emu_sched); }
inline void emu_wait(Barrier& b, const int& participants)
{
    long g = b.gen;
    if (++b.arrived >= participants) { b.arrived = 0; b.gen++; return; }
    while (b.gen == g)
    {
        if (b.arrived >= participants) { b.arrived = 0; b.gen++; break; }
        emu_yield();
    }
}
inline void __syncthreads() { emu_wait(emu_block_barrier, emu_block_alive); }

template <class T> T emu_shfl(T v, int src)
{
    Warp& w = emu_warps[emu_current->warp];
    memcpy(&w.slot[emu_current->lane], &v, sizeof(T));
    emu_wait(w.bar, w.alive);
    T r;
    memcpy(&r, &w.slot[src & 31], sizeof(T));
    emu_wait(w.bar, w.alive);
    return r;
}
template <class T> T __shfl_sync(unsigned, T v, int src) { return emu_shfl(v, src); }
template <class T> T __shfl_xor_sync(unsigned, T v, int offset) { return emu_shfl(v, emu_current->lane ^ offset); }
inline bool __any_sync(unsigned, bool p)
{
    Warp& w = emu_warps[emu_current->warp];
    w.slot[emu_current->lane] = p;
    emu_wait(w.bar, w.alive);
    bool any = false;
    for (int i = 0; i < 32; i++) any |= w.slot[i] != 0;
    emu_wait(w.bar, w.alive);
    return any;
}
inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float x) { unsigned u; memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned u) { float x; memcpy(&x, &u, 4); return x; }
inline float __int_as_float(unsigned i) { float f; memcpy(&f, &i, 4); return f; }
inline float atomicAdd(float* a, float v) { float old = *a; *a = old + v; return old; }
inline double atomicAdd(double* a, double v) { double old = *a; *a = old + v; return old; }
using std::min;
using std::max;
