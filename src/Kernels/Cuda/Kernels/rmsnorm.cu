// rmsnorm.cu: y = x * rstd * w with rstd = 1/sqrt(mean(x^2) + eps), and its backward.
//
// Forward and dx: one block per row; the row's sum (of x^2, or of dy*w*xhat) is a block reduction
// (warp shuffles, then one slot per warp). rstd is formed in double like the CPU reference.
// dw sums over rows, so it is a separate column-parallel kernel: each block owns 32 columns, its 8 warps
// stride over the rows reading 32 consecutive floats at a time, then combine in shared memory. That keeps
// dw deterministic, with no atomics.
#include "common.cuh"

// x: [N,C], w: [C] -> y: [N,C], rstd: [N]; grid: N
extern "C" __global__ void rmsnorm_forward(const float* x, const float* w, float* y, float* rstd, int c, float eps)
{
    __shared__ float scratch[32];
    const float* xr = x + (long long)blockIdx.x * c;
    float* yr = y + (long long)blockIdx.x * c;
    float ss = 0.f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss, scratch);
    float rs = (float)(1.0 / sqrt((double)ss / c + eps));
    if (threadIdx.x == 0) rstd[blockIdx.x] = rs;
    for (int i = threadIdx.x; i < c; i += blockDim.x) yr[i] = xr[i] * rs * w[i];
}

// dx = rstd * (dy*w - xhat * mean(dy*w*xhat)), xhat = x * rstd; dx overwritten. grid: N
extern "C" __global__ void rmsnorm_backward_dx(const float* dy, const float* x, const float* w, const float* rstd, float* dx, int c)
{
    __shared__ float scratch[32];
    long long row = (long long)blockIdx.x * c;
    float rs = rstd[blockIdx.x];
    float dot = 0.f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) dot += dy[row + i] * w[i] * x[row + i] * rs;
    float mean = block_sum(dot, scratch) / c;
    for (int i = threadIdx.x; i < c; i += blockDim.x)
    {
        float xhat = x[row + i] * rs;
        dx[row + i] = rs * (dy[row + i] * w[i] - xhat * mean);
    }
}

// dw[i] += sum over rows of dy * xhat; grid: ceil(C/32), block: 256 (8 warps)
extern "C" __global__ void rmsnorm_backward_dw(const float* dy, const float* x, const float* rstd, float* dw, int n, int c)
{
    __shared__ float partial[8][32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int col = blockIdx.x * 32 + lane;
    float sum = 0.f;
    if (col < c)
        for (int r = warp; r < n; r += 8)
        {
            long long at = (long long)r * c + col;
            sum += dy[at] * (x[at] * rstd[r]);
        }
    partial[warp][lane] = sum;
    __syncthreads();
    if (warp == 0 && col < c)
    {
        for (int k = 1; k < 8; k++) sum += partial[k][lane];
        dw[col] += sum;
    }
}
