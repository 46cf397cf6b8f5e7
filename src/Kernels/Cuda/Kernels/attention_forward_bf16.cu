// attention_forward_bf16.cu: flash attention forward on bf16 tensor cores (mma.sync, sm_80+), fp32 accumulation.
//
// Same inputs, masks, outputs and lse as attention_forward.cu; used when the device computes in bf16.
// Algorithm (FlashAttention-2, Dao 2023): a block of 4 warps owns 64 query rows of one (sequence, head),
// each warp 16 rows, whose Q fragments stay in registers for the whole kernel. Keys and values stream
// through shared memory in tiles of 64, converted to bf16 as they are staged (K row-major, V transposed so
// a P.V fragment register is two adjacent keys). Per tile a warp computes its 16x64 scores S = Q K^T with
// mma, scales and masks them, and runs the online softmax in registers: each lane holds two rows (g, g+8)
// and 16 of their scores; a row's max is reduced over the 4 lanes of its quad (shuffles by 1 and 2), the
// running output is rescaled by exp(m_old - m_new), and P = exp(S - m_new), rounded to bf16, feeds
// O += P V straight from the score registers (a C fragment's layout is an A fragment's). The running sum
// l stays a per-lane partial until the end. Finally O / l is stored and lse = m + log(l).
// Only tiles that can hold visible keys are visited (causal end, window start); a warp skips tiles that
// lie wholly after its last row. Every row sees at least its own key, so l > 0 for every stored row;
// masked scores are -inf and a row with nothing visible yet keeps m = -inf without producing NaN.
// Head dims are padded to DP in {32, 64, 128} (zeros past d, never stored); larger ones stay on the fp32
// kernel. Shared memory: (64 (DP+8) + DP (64+8)) bf16 + 2*64 ints; the host computes the same
// (CudaAttentionBf16.ForwardSharedBytes).
#include "common.cuh"
#include "attention_mask.cuh"
#include "attention_bf16.cuh"

constexpr int FWD16_WARPS = 4;
constexpr int FWD16_BQ = 64; // query rows per block, 16 per warp
constexpr int FWD16_BK = 64; // keys per tile

// q: [B,Tq,H,D], k, v: [B,Tk,KV,D], segments, sequences: [B,Tk] (when mask.segmented / mask.sequenced)
// -> o: [B,Tq,H,D], lse: [B,H,Tq]
// grid: (ceil(Tq/64), H, B), block: 128
template <int DP>
inline void attention_forward_bf16(const float* q, const float* k, const float* v, const int* segments, const int* sequences, float* o, float* lse,
    int tq, int tk, int heads, int kv_heads, int d, int query_offset, float scale, Mask mask)
{
    constexpr int RS = DP + ATT16_PAD; // row stride of the K tile
    constexpr int KS = DP / 16;        // mma k-steps over the head dim
    constexpr int NT = DP / 8;         // 8-column n-tiles of the output
    constexpr int ST = FWD16_BK / 8;   // 8-key n-tiles of a score tile
    extern __shared__ float smem[];
    unsigned short* k_s = (unsigned short*)smem;      // [BK][DP+8]; first carries the block's Q into registers
    unsigned short* vt_s = k_s + FWD16_BK * RS;       // [DP][BK+8]: V transposed
    int* seg_s = (int*)(vt_s + DP * ATT16_TSTRIDE);   // [BK]
    int* seq_s = seg_s + FWD16_BK;                    // [BK]

    int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * FWD16_BQ;
    int kvh = h / (heads / kv_heads);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, t = lane & 3;
    int row0 = q0 + warp * 16; // this warp's first query row

    stage_rows<DP>(k_s, q + (((long long)b * tq + q0) * heads + h) * d, (long long)heads * d, tq - q0, d);
    __syncthreads();
    unsigned qa[KS][4];
#pragma unroll
    for (int ks = 0; ks < KS; ks++) load_a(qa[ks], k_s, RS, warp * 16, ks * 16);

    // This lane's rows: row0 + g and row0 + g + 8 (rr = 0, 1), the rows of C registers 0,1 and 2,3.
    int qi[2], si[2], ni[2];
    float m[2], l[2], acc[NT][4];
#pragma unroll
    for (int rr = 0; rr < 2; rr++)
    {
        int i = row0 + (lane >> 2) + 8 * rr;
        qi[rr] = query_offset + i;
        si[rr] = mask.segmented && i < tq ? segments[(long long)b * tk + qi[rr]] : 0;
        ni[rr] = mask.sequenced && i < tq ? sequences[(long long)b * tk + qi[rr]] : 0;
        m[rr] = NEG_INF;
        l[rr] = 0.f;
    }
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) acc[nt][e] = 0.f;

    KeyRange keys = visible_keys(q0, min(q0 + FWD16_BQ, tq) - 1, query_offset, mask);
    int warp_key_end = row0 < tq ? query_offset + min(row0 + 15, tq - 1) + 1 : 0; // 0: the warp has no rows

    for (int k0 = keys.begin; k0 < keys.end; k0 += FWD16_BK)
    {
        __syncthreads(); // the previous tile is consumed (first time: the Q fragments are read)
        long long at = (((long long)b * tk + k0) * kv_heads + kvh) * d;
        stage_rows<DP>(k_s, k + at, (long long)kv_heads * d, tk - k0, d);
        stage_cols<DP>(vt_s, v + at, (long long)kv_heads * d, tk - k0, d);
        stage_mask_ids(seg_s, seq_s, segments, sequences, (long long)b * tk, k0, tk, FWD16_BK, mask);
        __syncthreads();
        if (k0 >= warp_key_end) continue; // whole warp: every key of the tile is after its rows

        // S = Q K^T: [16 rows][64 keys]
        float s[ST][4];
#pragma unroll
        for (int nt = 0; nt < ST; nt++)
        {
#pragma unroll
            for (int e = 0; e < 4; e++) s[nt][e] = 0.f;
#pragma unroll
            for (int ks = 0; ks < KS; ks++)
            {
                unsigned kb[2];
                load_b(kb, k_s, RS, nt * 8, ks * 16);
                mma_bf16_16816(s[nt], qa[ks], kb);
            }
        }

        float tile_max[2] = {NEG_INF, NEG_INF};
#pragma unroll
        for (int nt = 0; nt < ST; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++)
            {
                int rr = e >> 1, jj = nt * 8 + 2 * t + (e & 1), j = k0 + jj;
                bool visible = j < tk && key_visible(qi[rr], j, si[rr], seg_s[jj], ni[rr], seq_s[jj], mask);
                s[nt][e] = visible ? s[nt][e] * scale : NEG_INF;
                tile_max[rr] = fmaxf(tile_max[rr], s[nt][e]);
            }

        float correction[2];
#pragma unroll
        for (int rr = 0; rr < 2; rr++)
        {
            // the quad's 4 lanes hold the row's 64 scores
            tile_max[rr] = fmaxf(tile_max[rr], __shfl_xor_sync(FULL_MASK, tile_max[rr], 1));
            tile_max[rr] = fmaxf(tile_max[rr], __shfl_xor_sync(FULL_MASK, tile_max[rr], 2));
            float m_new = fmaxf(m[rr], tile_max[rr]);
            // m_new = -inf: nothing visible yet, acc and l are 0; exp(-inf - -inf) would be NaN
            correction[rr] = m_new == NEG_INF ? 1.f : expf(m[rr] - m_new);
            m[rr] = m_new;
            l[rr] *= correction[rr];
        }

#pragma unroll
        for (int nt = 0; nt < ST; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++)
            {
                int rr = e >> 1;
                float p = s[nt][e] == NEG_INF ? 0.f : expf(s[nt][e] - m[rr]);
                s[nt][e] = p;
                l[rr] += p;
            }
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[nt][e] *= correction[e >> 1];

        // O += P V: P [16 rows][64 keys] from the score registers, V^T tile rows are the output columns
#pragma unroll
        for (int kk = 0; kk < FWD16_BK / 16; kk++)
        {
            unsigned pa[4];
            c_to_a(pa, s[2 * kk], s[2 * kk + 1]);
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
            {
                if (nt * 8 >= d) break; // whole warp: columns past d stay 0 and are never stored
                unsigned vb[2];
                load_b(vb, vt_s, ATT16_TSTRIDE, nt * 8, kk * 16);
                mma_bf16_16816(acc[nt], pa, vb);
            }
        }
    }

#pragma unroll
    for (int rr = 0; rr < 2; rr++)
    {
        l[rr] += __shfl_xor_sync(FULL_MASK, l[rr], 1);
        l[rr] += __shfl_xor_sync(FULL_MASK, l[rr], 2);
        int i = row0 + (lane >> 2) + 8 * rr;
        if (i >= tq) continue;
        float inv = 1.f / l[rr]; // l > 0: a query always sees its own key
        float* orow = o + (((long long)b * tq + i) * heads + h) * d;
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
        {
            int c = nt * 8 + 2 * t;
            if (c < d) orow[c] = acc[nt][2 * rr] * inv;
            if (c + 1 < d) orow[c + 1] = acc[nt][2 * rr + 1] * inv;
        }
        if (t == 0) lse[((long long)b * heads + h) * tq + i] = m[rr] + logf(l[rr]);
    }
}

#define ATTENTION_FORWARD_BF16(DP)                                                                                         \
    extern "C" __global__ void __launch_bounds__(FWD16_WARPS * 32) attention_forward_bf16_##DP(                          \
        const float* q, const float* k, const float* v, const int* segments, const int* sequences, float* o, float* lse,  \
        int tq, int tk, int heads, int kv_heads, int d, int query_offset, float scale, int window, int segmented, int prefix, \
        int sequenced)                                                                                                     \
    {                                                                                                                      \
        attention_forward_bf16<DP>(q, k, v, segments, sequences, o, lse, tq, tk, heads, kv_heads, d, query_offset, scale, \
            Mask{window, segmented, prefix, sequenced});                                                                   \
    }

ATTENTION_FORWARD_BF16(32)
ATTENTION_FORWARD_BF16(64)
ATTENTION_FORWARD_BF16(128)
