// swiglu.cu: h = silu(gate) * up, silu(g) = g * sigmoid(g), and its backward.
//
// One thread per element. d silu(g)/dg = s * (1 + g * (1 - s)) with s = sigmoid(g).

extern "C" __global__ void swiglu_forward(const float* gate, const float* up, float* h, int n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float g = gate[i], s = 1.f / (1.f + expf(-g));
    h[i] = g * s * up[i];
}

extern "C" __global__ void swiglu_backward(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float g = gate[i], s = 1.f / (1.f + expf(-g));
    dup[i] = dh[i] * g * s;
    dgate[i] = dh[i] * up[i] * s * (1.f + g * (1.f - s));
}
