// attention_backward_bf16.cu: flash attention backward on bf16 tensor cores (mma.sync, sm_80+), fp32 accumulation.
//
// Same math as attention_backward.cu (P_ij = exp(scale q_i.k_j - lse_i), delta_i = dO_i . O_i from its
// attention_backward_delta kernel, dS = P (dP - delta)), in one kernel after delta (FlashAttention-2, Dao 2023):
// a block owns 64 keys of one key/value head, each of its 4 warps 16 keys, and streams tiles of 64 query
// rows from every query head of the group that can see them. Per tile a warp computes, all by mma:
//   S^T = K Q^T, P^T = exp(scale S^T - lse) (masked: 0), dV += P^T dO,
//   dP^T = V dO^T, dS^T = scale P^T (dP^T - delta), dK += dS^T Q,
// feeding P^T and dS^T to the next product straight from registers (a C fragment's layout is an A
// fragment's). dK and dV stay in fp32 registers and are stored once. dQ needs a sum over the keys of every
// block, so the block writes its 64x64 dS to shared memory, each warp takes 16 query rows of dQ += dS K
// and adds them to dq with fp32 atomics (dq is zeroed before the launch). The atomics make dq's summation
// order, and so its last bits, vary from run to run; dk and dv are deterministic.
// Tiles in shared memory, bf16, each in the layout its fragments need (attention_bf16.cuh): K, V, Q, dO
// row-major [64][DP+8]; K, Q, dO transposed [DP][64+8]; dS [64 queries][64+8 keys]; then lse and delta (floats)
// and the segment and sequence ids of the query and key tiles (ints), 64 each. Head dims are padded to
// DP in {32, 64, 128}. The host computes the same size (CudaAttentionBf16.BackwardSharedBytes).
#include "common.cuh"
#include "attention_mask.cuh"
#include "attention_bf16.cuh"

constexpr int BWD16_WARPS = 4;
constexpr int BWD16_BK = 64; // keys per block, 16 per warp
constexpr int BWD16_BQ = 64; // query rows per tile

// dO, q: [B,Tq,H,D], k, v: [B,Tk,KV,D], lse, delta: [B,H,Tq], segments, sequences: [B,Tk] (when used)
// -> dq: [B,Tq,H,D] (accumulated into: zero it first), dk, dv: [B,Tk,KV,D] (overwritten)
// grid: (ceil(Tk/64), KV, B), block: 128
template <int DP>
inline void attention_backward_bf16(const float* dout, const float* q, const float* k, const float* v, const float* lse, const float* delta,
    const int* segments, const int* sequences, float* dq, float* dk, float* dv, int tq, int tk, int heads, int kv_heads, int d, int query_offset,
    float scale, Mask mask)
{
    constexpr int RS = DP + ATT16_PAD;     // row stride of a row-major tile
    constexpr int TS = ATT16_TSTRIDE;      // row stride of a transposed tile and of dS
    constexpr int KS = DP / 16;            // mma k-steps over the head dim
    constexpr int NT = DP / 8;             // 8-column n-tiles of dK, dV, dQ
    constexpr int ST = BWD16_BQ / 8;       // 8-row n-tiles of a warp's S^T
    extern __shared__ float smem[];
    unsigned short* k_s = (unsigned short*)smem;  // [BK][DP+8]
    unsigned short* v_s = k_s + BWD16_BK * RS;    // [BK][DP+8]
    unsigned short* kt_s = v_s + BWD16_BK * RS;   // [DP][BK+8]
    unsigned short* q_s = kt_s + DP * TS;         // [BQ][DP+8]
    unsigned short* qt_s = q_s + BWD16_BQ * RS;   // [DP][BQ+8]
    unsigned short* do_s = qt_s + DP * TS;        // [BQ][DP+8]
    unsigned short* dot_s = do_s + BWD16_BQ * RS; // [DP][BQ+8]
    unsigned short* ds_s = dot_s + DP * TS;       // [BQ][BK+8]
    float* lse_s = (float*)(ds_s + BWD16_BQ * TS); // [BQ]
    float* delta_s = lse_s + BWD16_BQ;             // [BQ]
    int* qseg_s = (int*)(delta_s + BWD16_BQ);      // [BQ]
    int* qseq_s = qseg_s + BWD16_BQ;               // [BQ]
    int* kseg_s = qseq_s + BWD16_BQ;               // [BK]
    int* kseq_s = kseg_s + BWD16_BK;               // [BK]

    int b = blockIdx.z, kvh = blockIdx.y, k0 = blockIdx.x * BWD16_BK;
    int group = heads / kv_heads;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    int kw = warp * 16; // this warp's first key in the tile

    const float* k_tile = k + (((long long)b * tk + k0) * kv_heads + kvh) * d;
    const float* v_tile = v + (((long long)b * tk + k0) * kv_heads + kvh) * d;
    stage_rows<DP>(k_s, k_tile, (long long)kv_heads * d, tk - k0, d);
    stage_rows<DP>(v_s, v_tile, (long long)kv_heads * d, tk - k0, d);
    stage_cols<DP>(kt_s, k_tile, (long long)kv_heads * d, tk - k0, d);
    stage_mask_ids(kseg_s, kseq_s, segments, sequences, (long long)b * tk, k0, tk, BWD16_BK, mask);

    float dk_acc[NT][4], dv_acc[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) dk_acc[nt][e] = dv_acc[nt][e] = 0.f;

    // Query rows that can see a key of this block: at or after its first key (causal), and with a window
    // no later than its last key + window - 1.
    int row_begin = max(0, k0 - query_offset);
    int row_end = mask.window > 0 ? min(tq, k0 + BWD16_BK - 1 + mask.window - query_offset) : tq;

    for (int h = kvh * group; h < (kvh + 1) * group; h++)
        for (int i0 = row_begin; i0 < row_end; i0 += BWD16_BQ)
        {
            __syncthreads(); // the previous tile and its dS are consumed (first time: the key tiles are written)
            long long at = (((long long)b * tq + i0) * heads + h) * d, row_stride = (long long)heads * d;
            stage_rows<DP>(q_s, q + at, row_stride, tq - i0, d);
            stage_cols<DP>(qt_s, q + at, row_stride, tq - i0, d);
            stage_rows<DP>(do_s, dout + at, row_stride, tq - i0, d);
            stage_cols<DP>(dot_s, dout + at, row_stride, tq - i0, d);
            if (threadIdx.x < BWD16_BQ)
            {
                int i = i0 + threadIdx.x;
                long long r = ((long long)b * heads + h) * tq + i;
                lse_s[threadIdx.x] = i < tq ? lse[r] : 0.f;
                delta_s[threadIdx.x] = i < tq ? delta[r] : 0.f;
            }
            stage_mask_ids(qseg_s, qseq_s, segments, sequences, (long long)b * tk + query_offset, i0, tq, BWD16_BQ, mask);
            __syncthreads();

            // st: S^T, then P^T; dst: dP^T, then dS^T. [16 keys][64 rows] each.
            float st[ST][4], dst[ST][4];
#pragma unroll
            for (int nt = 0; nt < ST; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++) st[nt][e] = dst[nt][e] = 0.f;

            // Whole warp: skip when its keys are past Tk or after every row of the tile (causal); its dS stays 0.
            if (k0 + kw < tk && k0 + kw <= query_offset + min(i0 + BWD16_BQ, tq) - 1)
            {
#pragma unroll
                for (int ks = 0; ks < KS; ks++)
                {
                    unsigned ka[4], va[4];
                    load_a(ka, k_s, RS, kw, ks * 16);
                    load_a(va, v_s, RS, kw, ks * 16);
#pragma unroll
                    for (int nt = 0; nt < ST; nt++)
                    {
                        unsigned qb[2], dob[2];
                        load_b(qb, q_s, RS, nt * 8, ks * 16);
                        mma_bf16_16816(st[nt], ka, qb);
                        load_b(dob, do_s, RS, nt * 8, ks * 16);
                        mma_bf16_16816(dst[nt], va, dob);
                    }
                }

#pragma unroll
                for (int nt = 0; nt < ST; nt++)
#pragma unroll
                    for (int e = 0; e < 4; e++)
                    {
                        int jl = kw + g + 8 * (e >> 1), j = k0 + jl;
                        int ii = nt * 8 + 2 * t + (e & 1), i = i0 + ii;
                        bool visible = i < tq && j < tk && key_visible(query_offset + i, j, qseg_s[ii], kseg_s[jl], qseq_s[ii], kseq_s[jl], mask);
                        float p = visible ? expf(st[nt][e] * scale - lse_s[ii]) : 0.f;
                        st[nt][e] = p;
                        dst[nt][e] = p * (dst[nt][e] - delta_s[ii]) * scale;
                    }

                // dV += P^T dO, dK += dS^T Q: k over the tile's 64 rows, B from the transposed dO and Q tiles
#pragma unroll
                for (int kk = 0; kk < BWD16_BQ / 16; kk++)
                {
                    unsigned pa[4], dsa[4];
                    c_to_a(pa, st[2 * kk], st[2 * kk + 1]);
                    c_to_a(dsa, dst[2 * kk], dst[2 * kk + 1]);
#pragma unroll
                    for (int nt = 0; nt < NT; nt++)
                    {
                        if (nt * 8 >= d) break; // whole warp: columns past d are never stored
                        unsigned dob[2], qb[2];
                        load_b(dob, dot_s, TS, nt * 8, kk * 16);
                        mma_bf16_16816(dv_acc[nt], pa, dob);
                        load_b(qb, qt_s, TS, nt * 8, kk * 16);
                        mma_bf16_16816(dk_acc[nt], dsa, qb);
                    }
                }
            }

            // dS^T -> ds_s as dS, query-major, for the block-wide dQ
#pragma unroll
            for (int nt = 0; nt < ST; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++)
                    ds_s[(nt * 8 + 2 * t + (e & 1)) * TS + kw + g + 8 * (e >> 1)] = bf16_bits(dst[nt][e]);
            __syncthreads();

            // dQ += dS K: this warp's 16 rows of the tile, one 8-column n-tile at a time
            int row0 = i0 + warp * 16;
            if (row0 < tq)
            {
                unsigned dsa[BWD16_BK / 16][4];
#pragma unroll
                for (int kk = 0; kk < BWD16_BK / 16; kk++) load_a(dsa[kk], ds_s, TS, warp * 16, kk * 16);
#pragma unroll
                for (int nt = 0; nt < NT; nt++)
                {
                    if (nt * 8 >= d) break;
                    float c[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
                    for (int kk = 0; kk < BWD16_BK / 16; kk++)
                    {
                        unsigned kb[2];
                        load_b(kb, kt_s, TS, nt * 8, kk * 16);
                        mma_bf16_16816(c, dsa[kk], kb);
                    }
#pragma unroll
                    for (int e = 0; e < 4; e++)
                    {
                        int i = row0 + g + 8 * (e >> 1), col = nt * 8 + 2 * t + (e & 1);
                        if (i < tq && col < d) atomicAdd(dq + (((long long)b * tq + i) * heads + h) * d + col, c[e]);
                    }
                }
            }
        }

#pragma unroll
    for (int e = 0; e < 4; e++)
    {
        int j = k0 + kw + g + 8 * (e >> 1);
        if (j >= tk) continue;
        long long at = (((long long)b * tk + j) * kv_heads + kvh) * d;
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
        {
            int col = nt * 8 + 2 * t + (e & 1);
            if (col < d)
            {
                dk[at + col] = dk_acc[nt][e];
                dv[at + col] = dv_acc[nt][e];
            }
        }
    }
}

#define ATTENTION_BACKWARD_BF16(DP)                                                                                                   \
    extern "C" __global__ void __launch_bounds__(BWD16_WARPS * 32) attention_backward_bf16_##DP(                                    \
        const float* dout, const float* q, const float* k, const float* v, const float* lse, const float* delta, const int* segments, \
        const int* sequences, float* dq, float* dk, float* dv, int tq, int tk, int heads, int kv_heads, int d, int query_offset,      \
        float scale, int window, int segmented, int prefix, int sequenced)                                                            \
    {                                                                                                                                 \
        attention_backward_bf16<DP>(dout, q, k, v, lse, delta, segments, sequences, dq, dk, dv, tq, tk, heads, kv_heads, d,          \
            query_offset, scale, Mask{window, segmented, prefix, sequenced});                                                         \
    }

ATTENTION_BACKWARD_BF16(32)
ATTENTION_BACKWARD_BF16(64)
ATTENTION_BACKWARD_BF16(128)
