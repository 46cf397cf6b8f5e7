// rope.cu: rotary position embedding in place, Hugging Face rotate_half convention.
//
// One thread per (token, head, pair i < D/2): dimension i pairs with i + D/2 and rotates by
// angle = pos * inv_freq[i], the float32 frequencies the host computed (RopeFrequencies: plain or Llama 3
// scaled). sin/cos are taken in double of the float angle, exactly as the CPU reference does: angles
// reach tens of thousands of radians, where float sinf would drift. inverse rotates by -angle (the backward).

// x: [B*T, H, D] in place, positions: [B*T], inv_freq: [D/2]
extern "C" __global__ void rope(float* x, const int* positions, const float* inv_freq, int tokens, int heads, int d, int inverse)
{
    int half = d / 2;
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)tokens * heads * half) return;
    int i = (int)(idx % half);
    long long token_head = idx / half;
    int token = (int)(token_head / heads);

    float angle = (float)positions[token] * inv_freq[i];
    double s, c;
    sincos((double)angle, &s, &c);
    float sin_a = inverse ? -(float)s : (float)s, cos_a = (float)c;

    float* p = x + token_head * d;
    float x0 = p[i], x1 = p[i + half];
    p[i] = x0 * cos_a - x1 * sin_a;
    p[i + half] = x1 * cos_a + x0 * sin_a;
}
