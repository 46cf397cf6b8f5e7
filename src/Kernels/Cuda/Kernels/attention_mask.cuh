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
