// cross_entropy.cu: token cross-entropy with per-token weights; label -100 means no loss.
//
// Forward: one block per token row. Each thread keeps an online (max, sum of exp(z - max)) over its
// strided share of the vocabulary, rescaling its sum when the max grows, so the row is read once;
// the pairs are merged across the warp and then across warps. lse = max + log(sum),
// nll = lse - z[label] (0 when ignored).
// Backward: dlogits = w * (softmax(z) - onehot(label)) = w * exp(z - lse) - w at the label; the row is
// zero when ignored. Labels are checked against the vocabulary on the host.
#include "common.cuh"

struct MaxSum
{
    float max, sum;
};

inline MaxSum merge(MaxSum a, MaxSum b)
{
    float m = fmaxf(a.max, b.max);
    if (m == NEG_INF) return {m, 0.f}; // both empty: exp(-inf - -inf) would be NaN
    return {m, a.sum * expf(a.max - m) + b.sum * expf(b.max - m)};
}

inline MaxSum warp_merge(MaxSum x)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        x = merge(x, {__shfl_xor_sync(FULL_MASK, x.max, offset), __shfl_xor_sync(FULL_MASK, x.sum, offset)});
    return x;
}

// logits: [N,V], labels: [N] -> nll: [N], lse: [N]; grid: N
extern "C" __global__ void cross_entropy_forward(const float* logits, const int* labels, float* nll, float* lse, int v)
{
    __shared__ MaxSum partial[32];
    const float* z = logits + (long long)blockIdx.x * v;
    MaxSum acc = {NEG_INF, 0.f};
    for (int i = threadIdx.x; i < v; i += blockDim.x)
    {
        float x = z[i];
        if (x > acc.max)
        {
            acc.sum = acc.sum * expf(acc.max - x) + 1.f;
            acc.max = x;
        }
        else if (x > NEG_INF)
            acc.sum += expf(x - acc.max);
    }
    acc = warp_merge(acc);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) partial[warp] = acc;
    __syncthreads();
    if (warp != 0) return;
    acc = warp_merge(lane < (int)(blockDim.x >> 5) ? partial[lane] : MaxSum{NEG_INF, 0.f});
    if (lane != 0) return;
    float row_lse = acc.max + logf(acc.sum);
    int label = labels[blockIdx.x];
    lse[blockIdx.x] = row_lse;
    nll[blockIdx.x] = label == -100 ? 0.f : row_lse - z[label];
}

// weights: [N] -> dlogits: [N,V] overwritten; grid: N
extern "C" __global__ void cross_entropy_backward(const float* logits, const int* labels, const float* lse, const float* weights, float* dlogits, int v)
{
    long long row = (long long)blockIdx.x * v;
    int label = labels[blockIdx.x];
    if (label == -100)
    {
        for (int i = threadIdx.x; i < v; i += blockDim.x) dlogits[row + i] = 0.f;
        return;
    }
    float w = weights[blockIdx.x], l = lse[blockIdx.x];
    for (int i = threadIdx.x; i < v; i += blockDim.x)
    {
        float g = w * expf(logits[row + i] - l);
        dlogits[row + i] = i == label ? g - w : g;
    }
}
