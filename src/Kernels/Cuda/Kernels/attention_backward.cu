// attention_backward.cu: flash attention backward, fp32, same masks and grouped-query heads as the forward.
//
// With P = softmax(S) recomputed from the saved lse (P_ij = exp(scale q_i.k_j - lse_i)) and
// delta_i = dO_i . O_i:  dV_j = sum_i P_ij dO_i,  dP_ij = dO_i . v_j,  dS_ij = P_ij (dP_ij - delta_i),
// dQ_i = scale sum_j dS_ij k_j,  dK_j = scale sum_i dS_ij q_i.
// Three kernels, none with atomics, so the result is deterministic:
//  1. attention_backward_delta: delta, one warp per query row.
//  2. attention_backward_dq_D: like the forward, a block owns 16 query rows of one head and streams key/value
//     tiles of 32 (one key per lane); each row's dQ stays in registers (lane c holds dims c, c+32, ...).
//  3. attention_backward_dkdv_D: a block owns 16 keys of one key/value head, its 4 warps 4 keys each, and
//     streams tiles of 32 query rows (one per lane) from every query head of the group that can see them;
//     dK and dV stay in registers. Scores are computed twice (in 2 and 3), the price of no atomics.
// All three overwrite their outputs. Plain fp32 on CUDA cores; attention_backward_bf16.cu is the bf16
// tensor-core version (which reuses attention_backward_delta).
// Segment and sequence ids: each [B,Tk] when mask.segmented / mask.sequenced, else 0 and never read.
// Shared memory: dq (2*16 D + 2*32 (D+1)) floats + 2*32 ints; dkdv (2*16 D + 2*32 (D+1)) floats + 4*32 + 2*16
// values; the host computes the same (CudaAttention). Instantiated for head dims up to 32, 64, 128, 256.
#include "common.cuh"
#include "attention_mask.cuh"

// dO, o: [B,Tq,H,D] -> delta: [B,H,Tq]; grid: ceil(B*Tq*H / 8), block: 256 (a warp per row)
extern "C" __global__ void attention_backward_delta(const float* dout, const float* o, float* delta, int rows, int tq, int heads, int d)
{
    int row = blockIdx.x * 8 + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= rows) return; // the whole warp
    const float* a = dout + (long long)row * d;
    const float* b = o + (long long)row * d;
    float sum = 0.f;
    for (int c = lane; c < d; c += 32) sum += a[c] * b[c];
    sum = warp_sum(sum);
    // row = (batch * Tq + i) * H + h
    int h = row % heads, bt = row / heads;
    if (lane == 0) delta[((long long)(bt / tq) * heads + h) * tq + bt % tq] = sum;
}

constexpr int DQ_WARPS = 4;
constexpr int DQ_ROWS_PER_WARP = 4;
constexpr int DQ_BQ = DQ_WARPS * DQ_ROWS_PER_WARP;
constexpr int DQ_BK = 32;

// -> dq: [B,Tq,H,D]; grid: (ceil(Tq/16), H, B), block: 128
template <int DC>
inline void attention_backward_dq(const float* dout, const float* q, const float* k, const float* v, const float* lse, const float* delta,
    const int* segments, const int* sequences, float* dq, int tq, int tk, int heads, int kv_heads, int d, int query_offset, float scale, Mask mask)
{
    extern __shared__ float smem[];
    float* q_s = smem;                     // [BQ][d]
    float* do_s = q_s + DQ_BQ * d;         // [BQ][d]
    float* k_s = do_s + DQ_BQ * d;         // [BK][d+1]
    float* v_s = k_s + DQ_BK * (d + 1);    // [BK][d+1]
    int* seg_s = (int*)(v_s + DQ_BK * (d + 1)); // [BK]
    int* seq_s = seg_s + DQ_BK;                 // [BK]

    int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * DQ_BQ;
    int kvh = h / (heads / kv_heads);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

    for (int idx = threadIdx.x; idx < DQ_BQ * d; idx += blockDim.x)
    {
        int r = idx / d, c = idx - r * d, i = q0 + r;
        long long at = (((long long)b * tq + i) * heads + h) * d + c;
        q_s[idx] = i < tq ? q[at] : 0.f;
        do_s[idx] = i < tq ? dout[at] : 0.f;
    }

    float row_lse[DQ_ROWS_PER_WARP], row_delta[DQ_ROWS_PER_WARP], acc[DQ_ROWS_PER_WARP][DC];
    int qi[DQ_ROWS_PER_WARP], si[DQ_ROWS_PER_WARP], ni[DQ_ROWS_PER_WARP];
#pragma unroll
    for (int rr = 0; rr < DQ_ROWS_PER_WARP; rr++)
    {
        int i = q0 + warp * DQ_ROWS_PER_WARP + rr;
        long long at = ((long long)b * heads + h) * tq + i;
        qi[rr] = query_offset + i;
        row_lse[rr] = i < tq ? lse[at] : 0.f;
        row_delta[rr] = i < tq ? delta[at] : 0.f;
        si[rr] = mask.segmented && i < tq ? segments[(long long)b * tk + qi[rr]] : 0;
        ni[rr] = mask.sequenced && i < tq ? sequences[(long long)b * tk + qi[rr]] : 0;
#pragma unroll
        for (int c = 0; c < DC; c++) acc[rr][c] = 0.f;
    }

    KeyRange keys = visible_keys(q0, min(q0 + DQ_BQ, tq) - 1, query_offset, mask);

    for (int k0 = keys.begin; k0 < keys.end; k0 += DQ_BK)
    {
        __syncthreads();
        for (int idx = threadIdx.x; idx < DQ_BK * d; idx += blockDim.x)
        {
            int jj = idx / d, c = idx - jj * d, j = k0 + jj;
            long long at = (((long long)b * tk + j) * kv_heads + kvh) * d + c;
            k_s[jj * (d + 1) + c] = j < tk ? k[at] : 0.f;
            v_s[jj * (d + 1) + c] = j < tk ? v[at] : 0.f;
        }
        stage_mask_ids(seg_s, seq_s, segments, sequences, (long long)b * tk, k0, tk, DQ_BK, mask);
        __syncthreads();

        int j = k0 + lane;
#pragma unroll
        for (int rr = 0; rr < DQ_ROWS_PER_WARP; rr++)
        {
            int r = warp * DQ_ROWS_PER_WARP + rr;
            if (q0 + r >= tq) continue;
            bool visible = key_visible(qi[rr], j, si[rr], seg_s[lane], ni[rr], seq_s[lane], mask);
            if (!__any_sync(FULL_MASK, visible)) continue;
            float ds = 0.f;
            if (visible)
            {
                const float* qr = q_s + r * d;
                const float* dor = do_s + r * d;
                const float* kr = k_s + lane * (d + 1);
                const float* vr = v_s + lane * (d + 1);
                float dot = 0.f, dp = 0.f;
                for (int c = 0; c < d; c++)
                {
                    dot += qr[c] * kr[c];
                    dp += dor[c] * vr[c];
                }
                float p = expf(dot * scale - row_lse[rr]);
                ds = p * (dp - row_delta[rr]) * scale;
            }
#pragma unroll 4 // partial: a full 32-step unroll times DC only bloats the code
            for (int jj = 0; jj < DQ_BK; jj++)
            {
                float dsj = __shfl_sync(FULL_MASK, ds, jj);
#pragma unroll
                for (int c = 0; c < DC; c++)
                    if (c * 32 + lane < d) acc[rr][c] += dsj * k_s[jj * (d + 1) + c * 32 + lane];
            }
        }
    }

#pragma unroll
    for (int rr = 0; rr < DQ_ROWS_PER_WARP; rr++)
    {
        int i = q0 + warp * DQ_ROWS_PER_WARP + rr;
        if (i >= tq) continue;
        float* row = dq + (((long long)b * tq + i) * heads + h) * d;
#pragma unroll
        for (int c = 0; c < DC; c++)
            if (c * 32 + lane < d) row[c * 32 + lane] = acc[rr][c];
    }
}

constexpr int DKV_WARPS = 4;
constexpr int DKV_KEYS_PER_WARP = 4;
constexpr int DKV_BK = DKV_WARPS * DKV_KEYS_PER_WARP;
constexpr int DKV_BQ = 32;

// -> dk, dv: [B,Tk,KV,D]; grid: (ceil(Tk/16), KV, B), block: 128
template <int DC>
inline void attention_backward_dkdv(const float* dout, const float* q, const float* k, const float* v, const float* lse, const float* delta,
    const int* segments, const int* sequences, float* dk, float* dv, int tq, int tk, int heads, int kv_heads, int d, int query_offset, float scale, Mask mask)
{
    extern __shared__ float smem[];
    float* k_s = smem;                         // [BK][d]
    float* v_s = k_s + DKV_BK * d;             // [BK][d]
    float* q_s = v_s + DKV_BK * d;             // [BQ][d+1]: lane i reads row i, padded onto its own bank
    float* do_s = q_s + DKV_BQ * (d + 1);      // [BQ][d+1]
    float* lse_s = do_s + DKV_BQ * (d + 1);    // [BQ]
    float* delta_s = lse_s + DKV_BQ;           // [BQ]
    int* qseg_s = (int*)(delta_s + DKV_BQ);    // [BQ]
    int* kseg_s = qseg_s + DKV_BQ;             // [BK]
    int* qseq_s = kseg_s + DKV_BK;             // [BQ]
    int* kseq_s = qseq_s + DKV_BQ;             // [BK]

    int b = blockIdx.z, kvh = blockIdx.y, k0 = blockIdx.x * DKV_BK;
    int group = heads / kv_heads;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

    for (int idx = threadIdx.x; idx < DKV_BK * d; idx += blockDim.x)
    {
        int jj = idx / d, c = idx - jj * d, j = k0 + jj;
        long long at = (((long long)b * tk + j) * kv_heads + kvh) * d + c;
        k_s[idx] = j < tk ? k[at] : 0.f;
        v_s[idx] = j < tk ? v[at] : 0.f;
    }
    stage_mask_ids(kseg_s, kseq_s, segments, sequences, (long long)b * tk, k0, tk, DKV_BK, mask);

    float dk_acc[DKV_KEYS_PER_WARP][DC], dv_acc[DKV_KEYS_PER_WARP][DC];
#pragma unroll
    for (int kk = 0; kk < DKV_KEYS_PER_WARP; kk++)
#pragma unroll
        for (int c = 0; c < DC; c++) dk_acc[kk][c] = dv_acc[kk][c] = 0.f;

    // Query rows that can see a key of this tile: at or after its first key (causal), and with a window
    // no later than its last key + window - 1.
    int row_begin = max(0, k0 - query_offset);
    int row_end = mask.window > 0 ? min(tq, k0 + DKV_BK - 1 + mask.window - query_offset) : tq;

    for (int h = kvh * group; h < (kvh + 1) * group; h++)
        for (int i0 = row_begin; i0 < row_end; i0 += DKV_BQ)
        {
            __syncthreads(); // the previous query tile is consumed (first time: k_s and v_s are written)
            for (int idx = threadIdx.x; idx < DKV_BQ * d; idx += blockDim.x)
            {
                int r = idx / d, c = idx - r * d, i = i0 + r;
                long long at = (((long long)b * tq + i) * heads + h) * d + c;
                q_s[r * (d + 1) + c] = i < tq ? q[at] : 0.f;
                do_s[r * (d + 1) + c] = i < tq ? dout[at] : 0.f;
            }
            if (threadIdx.x < DKV_BQ)
            {
                int i = i0 + threadIdx.x;
                long long at = ((long long)b * heads + h) * tq + i;
                lse_s[threadIdx.x] = i < tq ? lse[at] : 0.f;
                delta_s[threadIdx.x] = i < tq ? delta[at] : 0.f;
            }
            stage_mask_ids(qseg_s, qseq_s, segments, sequences, (long long)b * tk + query_offset, i0, tq, DKV_BQ, mask);
            __syncthreads();

            int i = i0 + lane;
#pragma unroll
            for (int kk = 0; kk < DKV_KEYS_PER_WARP; kk++)
            {
                int jl = warp * DKV_KEYS_PER_WARP + kk, j = k0 + jl;
                if (j >= tk) continue; // whole warp
                bool visible = i < tq && key_visible(query_offset + i, j, qseg_s[lane], kseg_s[jl], qseq_s[lane], kseq_s[jl], mask);
                if (!__any_sync(FULL_MASK, visible)) continue;
                float p = 0.f, ds = 0.f;
                if (visible)
                {
                    const float* qr = q_s + lane * (d + 1);
                    const float* dor = do_s + lane * (d + 1);
                    const float* kr = k_s + jl * d;
                    const float* vr = v_s + jl * d;
                    float dot = 0.f, dp = 0.f;
                    for (int c = 0; c < d; c++)
                    {
                        dot += qr[c] * kr[c];
                        dp += dor[c] * vr[c];
                    }
                    p = expf(dot * scale - lse_s[lane]);
                    ds = p * (dp - delta_s[lane]) * scale;
                }
#pragma unroll 4 // partial: a full 32-step unroll times DC only bloats the code
                for (int ii = 0; ii < DKV_BQ; ii++)
                {
                    float pi = __shfl_sync(FULL_MASK, p, ii), dsi = __shfl_sync(FULL_MASK, ds, ii);
#pragma unroll
                    for (int c = 0; c < DC; c++)
                        if (c * 32 + lane < d)
                        {
                            dv_acc[kk][c] += pi * do_s[ii * (d + 1) + c * 32 + lane];
                            dk_acc[kk][c] += dsi * q_s[ii * (d + 1) + c * 32 + lane];
                        }
                }
            }
        }

#pragma unroll
    for (int kk = 0; kk < DKV_KEYS_PER_WARP; kk++)
    {
        int j = k0 + warp * DKV_KEYS_PER_WARP + kk;
        if (j >= tk) continue;
        long long at = (((long long)b * tk + j) * kv_heads + kvh) * d;
#pragma unroll
        for (int c = 0; c < DC; c++)
            if (c * 32 + lane < d)
            {
                dk[at + c * 32 + lane] = dk_acc[kk][c];
                dv[at + c * 32 + lane] = dv_acc[kk][c];
            }
    }
}

#define ATTENTION_BACKWARD(D)                                                                                                         \
    extern "C" __global__ void __launch_bounds__(DQ_WARPS * 32) attention_backward_dq_##D(                                          \
        const float* dout, const float* q, const float* k, const float* v, const float* lse, const float* delta, const int* segments, \
        const int* sequences, float* dq, int tq, int tk, int heads, int kv_heads, int d, int query_offset, float scale, int window,   \
        int segmented, int prefix, int sequenced)                                                                                     \
    {                                                                                                                                 \
        attention_backward_dq<D / 32>(dout, q, k, v, lse, delta, segments, sequences, dq, tq, tk, heads, kv_heads, d, query_offset,  \
            scale, Mask{window, segmented, prefix, sequenced});                                                                       \
    }                                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(DKV_WARPS * 32) attention_backward_dkdv_##D(                                       \
        const float* dout, const float* q, const float* k, const float* v, const float* lse, const float* delta, const int* segments, \
        const int* sequences, float* dk, float* dv, int tq, int tk, int heads, int kv_heads, int d, int query_offset, float scale,    \
        int window, int segmented, int prefix, int sequenced)                                                                         \
    {                                                                                                                                 \
        attention_backward_dkdv<D / 32>(dout, q, k, v, lse, delta, segments, sequences, dk, dv, tq, tk, heads, kv_heads, d,          \
            query_offset, scale, Mask{window, segmented, prefix, sequenced});                                                         \
    }

ATTENTION_BACKWARD(32)
ATTENTION_BACKWARD(64)
ATTENTION_BACKWARD(128)
ATTENTION_BACKWARD(256)
