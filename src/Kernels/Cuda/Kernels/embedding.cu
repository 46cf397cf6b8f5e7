// embedding.cu: token embedding lookup and its scatter-add backward.
//
// Forward: one block per token copies its table row. Backward: one block per token adds its gradient
// row into the table with atomicAdd, since tokens repeat and their rows collide; the order of the
// additions (and so the last bit of a repeated token's gradient) is not fixed. Ids are checked on the host.

// table: [V,C], ids: [N] -> y: [N,C]; grid: N
extern "C" __global__ void embedding_forward(const float* table, const int* ids, float* y, int c)
{
    const float* src = table + (long long)ids[blockIdx.x] * c;
    float* dst = y + (long long)blockIdx.x * c;
    for (int i = threadIdx.x; i < c; i += blockDim.x) dst[i] = src[i];
}

// dy: [N,C] -> dtable: [V,C] accumulated; grid: N
extern "C" __global__ void embedding_backward(const float* dy, const int* ids, float* dtable, int c)
{
    const float* src = dy + (long long)blockIdx.x * c;
    float* dst = dtable + (long long)ids[blockIdx.x] * c;
    for (int i = threadIdx.x; i < c; i += blockDim.x) atomicAdd(dst + i, src[i]);
}
