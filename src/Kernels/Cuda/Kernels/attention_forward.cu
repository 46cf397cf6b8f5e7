// attention_forward.cu: flash attention forward, fp32, with the engine's masks and grouped-query heads.
//
// Algorithm (FlashAttention, Dao et al. 2022, with the online softmax of Milakov & Gimelshein 2018):
// a block owns 16 query rows of one (sequence, head); its 4 warps own 4 rows each. Keys and values stream
// through shared memory in tiles of 32, one key per lane: lane j scores its key against a row, the warp
// takes the tile's max, rescales the row's running sum l and output accumulator by exp(m_old - m_new),
// and adds p_j * v_j, broadcasting each p_j by shuffle while lane c accumulates output dimensions
// c, c+32, .... Scores never leave registers; the [Tq,Tk] matrix is never formed. lse = m + log(l) is
// saved for the backward. Only tiles that can hold visible keys are visited (causal end, window start).
//
// This is the plain fp32 CUDA-core version; attention_forward_bf16.cu is the bf16 tensor-core one.
// Shared memory per block: (16 D + 32 (D+1) + 32 D) floats + 2*32 ints (the key tile's segment and
// sequence ids); the host computes the same (CudaAttention.ForwardSharedBytes). Instantiated for head
// dims up to 32, 64, 128 and 256.
#include "common.cuh"
#include "attention_mask.cuh"

constexpr int FWD_WARPS = 4;
constexpr int FWD_ROWS_PER_WARP = 4;
constexpr int FWD_BQ = FWD_WARPS * FWD_ROWS_PER_WARP;
constexpr int FWD_BK = 32;

// q: [B,Tq,H,D], k, v: [B,Tk,KV,D], segments: [B,Tk] (when mask.segmented), sequences: [B,Tk] (when mask.sequenced)
// -> o: [B,Tq,H,D], lse: [B,H,Tq]
// grid: (ceil(Tq/16), H, B), block: 128. DC = D rounded up to 32s, in 32s.
template <int DC>
inline void attention_forward(const float* q, const float* k, const float* v, const int* segments, const int* sequences, float* o, float* lse,
    int tq, int tk, int heads, int kv_heads, int d, int query_offset, float scale, Mask mask)
{
    extern __shared__ float smem[];
    float* q_s = smem;                    // [BQ][d]
    float* k_s = q_s + FWD_BQ * d;        // [BK][d+1]: the pad puts lane j's row j in its own bank
    float* v_s = k_s + FWD_BK * (d + 1);  // [BK][d]
    int* seg_s = (int*)(v_s + FWD_BK * d); // [BK]
    int* seq_s = seg_s + FWD_BK;           // [BK]

    int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * FWD_BQ;
    int kvh = h / (heads / kv_heads);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

    for (int idx = threadIdx.x; idx < FWD_BQ * d; idx += blockDim.x)
    {
        int r = idx / d, c = idx - r * d, i = q0 + r;
        q_s[idx] = i < tq ? q[(((long long)b * tq + i) * heads + h) * d + c] : 0.f;
    }

    float m[FWD_ROWS_PER_WARP], l[FWD_ROWS_PER_WARP], acc[FWD_ROWS_PER_WARP][DC];
    int qi[FWD_ROWS_PER_WARP], si[FWD_ROWS_PER_WARP], ni[FWD_ROWS_PER_WARP];
#pragma unroll
    for (int rr = 0; rr < FWD_ROWS_PER_WARP; rr++)
    {
        int i = q0 + warp * FWD_ROWS_PER_WARP + rr;
        qi[rr] = query_offset + i;
        si[rr] = mask.segmented && i < tq ? segments[(long long)b * tk + qi[rr]] : 0;
        ni[rr] = mask.sequenced && i < tq ? sequences[(long long)b * tk + qi[rr]] : 0;
        m[rr] = NEG_INF;
        l[rr] = 0.f;
#pragma unroll
        for (int c = 0; c < DC; c++) acc[rr][c] = 0.f;
    }

    KeyRange keys = visible_keys(q0, min(q0 + FWD_BQ, tq) - 1, query_offset, mask);

    for (int k0 = keys.begin; k0 < keys.end; k0 += FWD_BK)
    {
        __syncthreads(); // the previous tile is consumed (first time: q_s is written)
        for (int idx = threadIdx.x; idx < FWD_BK * d; idx += blockDim.x)
        {
            int jj = idx / d, c = idx - jj * d, j = k0 + jj;
            long long at = (((long long)b * tk + j) * kv_heads + kvh) * d + c;
            k_s[jj * (d + 1) + c] = j < tk ? k[at] : 0.f;
            v_s[jj * d + c] = j < tk ? v[at] : 0.f;
        }
        stage_mask_ids(seg_s, seq_s, segments, sequences, (long long)b * tk, k0, tk, FWD_BK, mask);
        __syncthreads();

        int j = k0 + lane;
#pragma unroll
        for (int rr = 0; rr < FWD_ROWS_PER_WARP; rr++)
        {
            int r = warp * FWD_ROWS_PER_WARP + rr;
            if (q0 + r >= tq) continue; // whole warp: r does not depend on the lane
            float s = NEG_INF;
            if (key_visible(qi[rr], j, si[rr], seg_s[lane], ni[rr], seq_s[lane], mask))
            {
                const float* qr = q_s + r * d;
                const float* kr = k_s + lane * (d + 1);
                float dot = 0.f;
                for (int c = 0; c < d; c++) dot += qr[c] * kr[c];
                s = dot * scale;
            }
            float tile_max = warp_max(s);
            if (tile_max == NEG_INF) continue; // no visible key in this tile for this row
            float m_new = fmaxf(m[rr], tile_max);
            float correction = expf(m[rr] - m_new); // 0 on the row's first visible tile
            float p = s == NEG_INF ? 0.f : expf(s - m_new);
            l[rr] = l[rr] * correction + warp_sum(p);
#pragma unroll
            for (int c = 0; c < DC; c++) acc[rr][c] *= correction;
#pragma unroll 4 // partial: a full 32-step unroll times DC only bloats the code
            for (int jj = 0; jj < FWD_BK; jj++)
            {
                float pj = __shfl_sync(FULL_MASK, p, jj);
#pragma unroll
                for (int c = 0; c < DC; c++)
                    if (c * 32 + lane < d) acc[rr][c] += pj * v_s[jj * d + c * 32 + lane];
            }
            m[rr] = m_new;
        }
    }

#pragma unroll
    for (int rr = 0; rr < FWD_ROWS_PER_WARP; rr++)
    {
        int i = q0 + warp * FWD_ROWS_PER_WARP + rr;
        if (i >= tq) continue;
        float inv = 1.f / l[rr]; // l > 0: a query always sees its own key
        float* orow = o + (((long long)b * tq + i) * heads + h) * d;
#pragma unroll
        for (int c = 0; c < DC; c++)
            if (c * 32 + lane < d) orow[c * 32 + lane] = acc[rr][c] * inv;
        if (lane == 0) lse[((long long)b * heads + h) * tq + i] = m[rr] + logf(l[rr]);
    }
}

#define ATTENTION_FORWARD(D)                                                                                              \
    extern "C" __global__ void __launch_bounds__(FWD_WARPS * 32) attention_forward_##D(                                 \
        const float* q, const float* k, const float* v, const int* segments, const int* sequences, float* o, float* lse, \
        int tq, int tk, int heads, int kv_heads, int d, int query_offset, float scale, int window, int segmented, int prefix, \
        int sequenced)                                                                                                    \
    {                                                                                                                     \
        attention_forward<D / 32>(q, k, v, segments, sequences, o, lse, tq, tk, heads, kv_heads, d, query_offset, scale, \
            Mask{window, segmented, prefix, sequenced});                                                                  \
    }

ATTENTION_FORWARD(32)
ATTENTION_FORWARD(64)
ATTENTION_FORWARD(128)
ATTENTION_FORWARD(256)
