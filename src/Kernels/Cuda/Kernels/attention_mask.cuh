// attention_mask.cuh: which keys a query may see, shared by the attention forward and backward.
//
// Mirrors AttentionMask.IsVisible in C#: always causal (j <= i); with window > 0 also i - j < window;
// with sequence ids (several episodes packed into one row) only keys of the query's own sequence; then,
// with segment ids (0 = prefix, k = demonstration k), a query in segment s > 0 sees its own segment and
// the prefix as `prefix` allows. i and j are key indices (a query's key index includes QueryOffset).
#pragma once

// The values of the C# enum PrefixVisibility { All, First, None }.
#define PREFIX_ALL 0
#define PREFIX_FIRST 1
#define PREFIX_NONE 2

struct Mask
{
    int window;    // 0 = no sliding window
    int segmented; // whether segment ids apply
    int prefix;    // PREFIX_*
    int sequenced; // whether sequence ids apply
};

// si, sj: segment ids of the query's and the key's positions (ignored unless segmented);
// ni, nj: their sequence ids (ignored unless sequenced)
inline bool key_visible(int i, int j, int si, int sj, int ni, int nj, Mask mask)
{
    if (j > i) return false;
    if (mask.window > 0 && i - j >= mask.window) return false;
    if (mask.sequenced && ni != nj) return false;
    if (!mask.segmented || si == 0 || sj == si) return true;
    if (sj != 0) return false;
    return mask.prefix == PREFIX_ALL || (mask.prefix == PREFIX_FIRST && si == 1);
}

// [begin, end): the keys that any query row q0..q_last (indices before QueryOffset) may see, from the causal
// end after the last row and the window start before the first. Kernels visit only these key tiles.
struct KeyRange { int begin, end; };
inline KeyRange visible_keys(int q0, int q_last, int query_offset, Mask mask)
{
    return { mask.window > 0 ? max(0, query_offset + q0 - mask.window + 1) : 0, query_offset + q_last + 1 };
}

// Segment and sequence ids of positions first..first+count-1 (of a row whose ids start at ids_row) into
// shared memory, one per thread; 0 from `end` on, or when the mask does not use them.
inline void stage_mask_ids(int* seg_s, int* seq_s, const int* segments, const int* sequences, long long ids_row, int first, int end,
    int count, Mask mask)
{
    if (threadIdx.x >= count) return;
    int p = first + threadIdx.x;
    seg_s[threadIdx.x] = mask.segmented && p < end ? segments[ids_row + p] : 0;
    seq_s[threadIdx.x] = mask.sequenced && p < end ? sequences[ids_row + p] : 0;
}
