// Fake libcuda.so.1 + libcublas.so.12 running the real kernel sources on the CPU.
#include "emu.h"
#include <map>
#include <string>
#include <utility>
#include <type_traits>
#include <sys/mman.h>

Fiber* emu_current;
ucontext_t emu_sched;
dim3 emu_block_idx, emu_block_dim, emu_grid_dim;
int emu_block_alive;
Barrier emu_block_barrier;
std::vector<Warp> emu_warps;
float* emu_dynamic_smem;

#include "kernels.inc" // the engine's .cu files, made by build.sh

typedef std::function<void(void**)> Invoker;
template <class... A, size_t... I> void call_impl(void (*fn)(A...), void** p, std::index_sequence<I...>) { fn(*(std::remove_reference_t<A>*)p[I]...); }
template <class... A> std::pair<Invoker, int> make(void (*fn)(A...)) { return {[fn](void** p) { call_impl(fn, p, std::index_sequence_for<A...>{}); }, (int)sizeof...(A)}; }

struct Func { std::string name; Invoker invoke; int arity; int shared_allowed = 48 * 1024; };
static std::map<std::string, Func*> registry;
#define REG(n) registry[#n] = new Func{#n, make(n).first, make(n).second};
static void init_registry()
{
    if (!registry.empty()) return;
    REG(elementwise_add) REG(elementwise_accumulate) REG(elementwise_scale)
    REG(embedding_forward) REG(embedding_backward)
    REG(rmsnorm_forward) REG(rmsnorm_backward_dx) REG(rmsnorm_backward_dw)
    REG(rope) REG(swiglu_forward) REG(swiglu_backward) REG(adamw) REG(sum_of_squares)
    REG(cross_entropy_forward) REG(cross_entropy_backward)
    REG(attention_forward_32) REG(attention_forward_64) REG(attention_forward_128) REG(attention_forward_256)
    REG(attention_backward_delta)
    REG(attention_backward_dq_32) REG(attention_backward_dq_64) REG(attention_backward_dq_128) REG(attention_backward_dq_256)
    REG(attention_backward_dkdv_32) REG(attention_backward_dkdv_64) REG(attention_backward_dkdv_128) REG(attention_backward_dkdv_256)
    REG(attention_forward_bf16_32) REG(attention_forward_bf16_64) REG(attention_forward_bf16_128)
    REG(attention_backward_bf16_32) REG(attention_backward_bf16_64) REG(attention_backward_bf16_128)
}

static std::map<char*, size_t> allocations;
static bool in_allocation(const void* p, size_t bytes)
{
    auto it = allocations.upper_bound((char*)p);
    if (it == allocations.begin()) return false;
    --it;
    return (char*)p >= it->first && (char*)p + bytes <= it->first + it->second;
}
struct Module { std::string ptx; };

static Invoker* running;
static void** running_params;
static void trampoline()
{
    (*running)(running_params);
    emu_current->done = true;
    Warp& w = emu_warps[emu_current->warp];
    w.alive--;
    emu_block_alive--;
    swapcontext(&emu_current->ctx, &emu_sched);
}

extern "C" {
int cuInit(unsigned) { init_registry(); return 0; }
int cuDriverGetVersion(int* v) { *v = 12040; return 0; }
int cuDeviceGetCount(int* c) { *c = 1; return 0; }
int cuDeviceGet(int* d, int o) { if (o != 0) return 101; *d = 0; return 0; }
int cuDeviceGetName(char* name, int len, int) { snprintf(name, len, "Emulated GPU (CPU fibers)"); return 0; }
int cuDeviceGetAttribute(int* v, int attr, int)
{
    switch (attr) { case 75: *v = 8; return 0; case 76: *v = 0; return 0; case 97: *v = 163 * 1024; return 0; }
    return 1;
}
int cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = (void*)0x1234; return 0; }
int cuDevicePrimaryCtxRelease_v2(int) { return 0; }
int cuCtxSetCurrent(void* ctx) { return ctx == (void*)0x1234 ? 0 : 201; }
int cuMemAlloc_v2(void** p, size_t bytes)
{
    if (bytes == 0) return 1;
    *p = aligned_alloc(256, (bytes + 255) / 256 * 256);
    memset(*p, 0xff, bytes); // garbage: NaN floats, so unwritten outputs show up
    allocations[(char*)*p] = bytes;
    return 0;
}
int cuMemFree_v2(void* p)
{
    if (!allocations.erase((char*)p)) { fprintf(stderr, "fake: free of unknown %p\n", p); return 1; }
    free(p);
    return 0;
}
int cuMemcpyHtoDAsync_v2(void* dst, const void* src, size_t n, void*) { if (!in_allocation(dst, n)) { fprintf(stderr, "fake: HtoD out of bounds\n"); return 1; } memcpy(dst, src, n); return 0; }
int cuMemcpyDtoHAsync_v2(void* dst, const void* src, size_t n, void*) { if (!in_allocation(src, n)) { fprintf(stderr, "fake: DtoH out of bounds\n"); return 1; } memcpy(dst, src, n); return 0; }
int cuMemcpyDtoDAsync_v2(void* dst, const void* src, size_t n, void*) { if (!in_allocation(src, n) || !in_allocation(dst, n)) { fprintf(stderr, "fake: DtoD out of bounds\n"); return 1; } memmove(dst, src, n); return 0; }
int cuMemsetD32Async(void* dst, unsigned v, size_t n, void*) { if (!in_allocation(dst, n * 4)) { fprintf(stderr, "fake: memset out of bounds\n"); return 1; } for (size_t i = 0; i < n; i++) ((unsigned*)dst)[i] = v; return 0; }
int cuStreamCreate(void** s, unsigned) { *s = (void*)0x5678; return 0; }
int cuStreamDestroy_v2(void*) { return 0; }
int cuStreamSynchronize(void*) { return 0; }
int cuEventCreate(void** e, unsigned) { *e = malloc(8); return 0; }
int cuEventDestroy_v2(void* e) { free(e); return 0; }
int cuEventRecord(void*, void*) { return 0; }
int cuEventSynchronize(void*) { return 0; }
int cuEventElapsedTime(float* ms, void*, void*) { *ms = 1.0f; return 0; }
int cuModuleLoadData(void** m, const void* image)
{
    const char* text = (const char*)image;
    if (!strstr(text, ".version") || !strstr(text, ".target")) { fprintf(stderr, "fake: image is not PTX\n"); return 200; }
    *m = new Module{text};
    return 0;
}
int cuModuleUnload(void* m) { delete (Module*)m; return 0; }
int cuModuleGetFunction(void** f, void* m, const char* name)
{
    std::string entry = std::string(".entry ") + name + "(";
    if (((Module*)m)->ptx.find(entry) == std::string::npos) { fprintf(stderr, "fake: %s not in module\n", name); return 500; }
    auto it = registry.find(name);
    if (it == registry.end()) { fprintf(stderr, "fake: %s not emulated\n", name); return 500; }
    *f = it->second;
    return 0;
}
int cuFuncSetAttribute(void* f, int attr, int value) { if (attr != 8 || value > 163 * 1024) return 1; ((Func*)f)->shared_allowed = value; return 0; }
int cuLaunchKernel(void* fp, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared, void*, void** params, void** extra)
{
    Func* f = (Func*)fp;
    if (by != 1 || bz != 1 || bx % 32 != 0 || bx > 1024 || extra) { fprintf(stderr, "fake: %s bad block\n", f->name.c_str()); return 1; }
    if ((int)shared > f->shared_allowed) { fprintf(stderr, "fake: %s wants %u shared bytes, allowed %d\n", f->name.c_str(), shared, f->shared_allowed); return 1; }
    if (gy > 65535 || gz > 65535) return 1;
    std::vector<float> smem(shared / 4 + 1);
    for (size_t i = 0; i < smem.size(); i++) smem[i] = __int_as_float(0x7fc00000u); // NaN: reading unwritten shared memory shows
    emu_dynamic_smem = smem.data();
    emu_grid_dim = {gx, gy, gz};
    emu_block_dim = {bx, 1, 1};
    const size_t stack = 64 * 1024;
    std::vector<Fiber> fibers(bx);
    char* stacks = (char*)malloc(stack * bx);
    running = &f->invoke;
    running_params = params;
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++)
            {
                emu_block_idx = {x, y, z};
                emu_block_alive = bx;
                emu_block_barrier = Barrier{};
                emu_warps.assign(bx / 32, Warp{});
                for (auto& w : emu_warps) w.alive = 32;
                for (unsigned t = 0; t < bx; t++)
                {
                    Fiber& fb = fibers[t];
                    fb.tid = {t, 0, 0};
                    fb.done = false;
                    fb.warp = t / 32;
                    fb.lane = t % 32;
                    getcontext(&fb.ctx);
                    fb.ctx.uc_stack.ss_sp = stacks + t * stack;
                    fb.ctx.uc_stack.ss_size = stack;
                    fb.ctx.uc_link = nullptr;
                    makecontext(&fb.ctx, trampoline, 0);
                }
                long spins = 0;
                for (bool all_done = false; !all_done;)
                {
                    all_done = true;
                    for (unsigned t = 0; t < bx; t++)
                    {
                        if (fibers[t].done) continue;
                        all_done = false;
                        emu_current = &fibers[t];
                        swapcontext(&emu_sched, &fibers[t].ctx);
                    }
                    if (++spins > 10000000) { fprintf(stderr, "fake: %s deadlock in block %u,%u,%u\n", f->name.c_str(), x, y, z); abort(); }
                }
            }
    free(stacks);
    return 0;
}
int cuGetErrorName(int e, const char** s) { static char buf[64]; snprintf(buf, 64, "CUDA_ERROR_FAKE_%d", e); *s = buf; return 0; }
int cuGetErrorString(int e, const char** s) { *s = "fake driver error"; return 0; }

// ---- cuBLAS
int cublasCreate_v2(void** h) { *h = (void*)0x42; return 0; }
int cublasDestroy_v2(void*) { return 0; }
int cublasSetStream_v2(void*, void*) { return 0; }
const char* cublasGetStatusName(int) { return "CUBLAS_STATUS_FAKE"; }
static float emu_round_bf16(float x)
{
    unsigned u; memcpy(&u, &x, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}
// computeType 68 = CUBLAS_COMPUTE_32F (exact fp32); 75 = CUBLAS_COMPUTE_32F_FAST_16BF (A, B rounded to bf16, fp32 sums)
int cublasGemmEx(void*, int ta, int tb, int m, int n, int k, const float* alpha, const float* a, int atype, int lda, const float* b, int btype, int ldb,
    const float* beta, float* c, int ctype, int ldc, int compute, int)
{
    if (atype != 0 || btype != 0 || ctype != 0 || (compute != 68 && compute != 75)) return 7;
    if (lda < 1 || ldb < 1 || ldc < m) return 7;
    if (lda < (ta ? k : m) || ldb < (tb ? n : k)) return 7;
    bool bf = compute == 75;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
        {
            double s = 0;
            for (int p = 0; p < k; p++)
            {
                float x = ta ? a[i * lda + p] : a[p * lda + i], y = tb ? b[p * ldb + j] : b[j * ldb + p];
                if (bf) { x = emu_round_bf16(x); y = emu_round_bf16(y); }
                s += (double)x * y;
            }
            float old = *beta == 0 ? 0.f : c[j * ldc + i];
            c[j * ldc + i] = (float)(*alpha * s + *beta * old);
        }
    return 0;
}
}
