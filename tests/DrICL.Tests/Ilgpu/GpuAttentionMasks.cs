using DrICL.Kernels;

namespace DrICL.Tests.Ilgpu;

/// <summary>
/// The attention masks the bf16 kernel tests sweep: causal, window, demonstration segments (with and without a
/// window), packed episodes, and packed episodes with their segments as EpisodePacker writes them.
/// </summary>
public static class GpuAttentionMasks
{
    public enum MaskKind { Causal, Window, Segments, SegmentsWindow, Packed, PackedSegments }

    internal static AttentionMask MakeMask(MaskKind kind, PrefixVisibility prefix, int batch, int keys, int window)
    {
        if (kind is MaskKind.Causal or MaskKind.Window) return new AttentionMask(kind == MaskKind.Window ? window : 0);
        if (kind is MaskKind.Packed) return new AttentionMask(SequenceIds: Sequences(batch, keys));
        if (kind is MaskKind.PackedSegments)
        {
            var sequences = Sequences(batch, keys);
            return new AttentionMask(SegmentIds: SegmentsPerEpisode(sequences, batch, keys), Prefix: prefix, SequenceIds: sequences);
        }
        // A prefix of 3 tokens, then demonstrations of 1 to 6 tokens, different per sequence.
        var segments = new int[batch * keys];
        var rng = new Random(batch * 31 + keys);
        for (int b = 0; b < batch; b++)
        {
            int s = 0, left = 3;
            for (int j = 0; j < keys; j++)
            {
                if (left-- == 0) { s++; left = rng.Next(0, 6); }
                segments[b * keys + j] = s;
            }
        }
        return new AttentionMask(kind == MaskKind.SegmentsWindow ? window : 0, segments, prefix);
    }

    // Episodes packed into each row: runs of random lengths 1..40 numbered 1, 2, ... across the batch
    // (a run may be cut by the row's end, and the next row starts a new one).
    static int[] Sequences(int batch, int keys)
    {
        var rng = new Random(batch * 17 + keys);
        var ids = new int[batch * keys];
        int id = 0;
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < keys; )
            {
                id++;
                for (int len = rng.Next(1, 41); len > 0 && j < keys; len--) ids[b * keys + j++] = id;
            }
        return ids;
    }

    // Segment ids as EpisodePacker writes them: each episode its own, a prefix of up to 3 tokens (segment 0)
    // and then demonstrations 1, 2, ... of 1 to 6 tokens. Without the sequence ids, a demonstration would see
    // the prefixes and equally numbered demonstrations of the row's earlier episodes.
    static int[] SegmentsPerEpisode(int[] sequences, int batch, int keys)
    {
        var rng = new Random(batch * 13 + keys);
        var segments = new int[batch * keys];
        for (int b = 0; b < batch; b++)
        {
            int s = 0, left = 0;
            for (int j = 0; j < keys; j++)
            {
                int at = b * keys + j;
                if (j == 0 || sequences[at] != sequences[at - 1]) { s = 0; left = 3; } // a new episode
                if (left-- == 0) { s++; left = rng.Next(0, 6); }
                segments[at] = s;
            }
        }
        return segments;
    }
}
