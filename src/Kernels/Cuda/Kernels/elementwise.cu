// elementwise.cu: y = a + b, dst += src, t *= factor.
//
// One thread per element, 64-bit indices so the last block of a 2^31-element tensor cannot overflow.
// Fill and copies need no kernel: the device uses the driver's cuMemsetD32 and cuMemcpyDtoD.

extern "C" __global__ void elementwise_add(const float* a, const float* b, float* y, int n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a[i] + b[i];
}

extern "C" __global__ void elementwise_accumulate(float* dst, const float* src, int n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] += src[i];
}

extern "C" __global__ void elementwise_scale(float* t, float factor, int n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) t[i] *= factor;
}
