// sum_of_squares.cu: sum of x^2 over a tensor, in double (the global gradient norm for clipping).
//
// A grid-stride loop gives each thread many elements, squared exactly in double; each block reduces
// with warp shuffles and adds its total to *out with one double atomicAdd (sm_60+). *out is zeroed
// by the host first. The order of the block totals varies, which only moves the last bits of a double.
#include "common.cuh"

extern "C" __global__ void sum_of_squares(const float* x, int n, double* out)
{
    __shared__ double scratch[32];
    double sum = 0.0;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        sum += (double)x[i] * x[i];
    sum = block_sum(sum, scratch);
    if (threadIdx.x == 0) atomicAdd(out, sum);
}
