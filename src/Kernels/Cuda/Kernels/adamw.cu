// adamw.cu: one AdamW step, PyTorch semantics, one thread per parameter.
//
// g is scaled by grad_scale first (how global-norm clipping is applied without touching the gradient);
// m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, p *= 1 - lr wd, p -= lr (m/bc1) / (sqrt(v/bc2) + eps).
// The bias corrections bc1 = 1 - b1^t and bc2 = 1 - b2^t come from the host, computed as the CPU does.

extern "C" __global__ void adamw(float* p, const float* g, float* m, float* v, int n,
    float lr, float beta1, float beta2, float eps, float weight_decay, float bc1, float bc2, float grad_scale)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float gi = g[i] * grad_scale;
    float mi = beta1 * m[i] + (1.f - beta1) * gi;
    float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float pi = p[i] * (1.f - lr * weight_decay);
    p[i] = pi - lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
}
