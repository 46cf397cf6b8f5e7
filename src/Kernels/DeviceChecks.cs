namespace DrICL.Kernels;

/// <summary>
/// The shape checks of the GPU devices, made on the host before anything is queued: on a GPU a mismatch
/// would be a silent out-of-bounds access rather than an exception.
/// </summary>
internal static class DeviceChecks
{
    public static void Attention(AttentionShape s, AttentionMask mask, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse) =>
        Attention(s, mask, q.Length, k.Length, v.Length, o.Length, lse.Length, () => $"attention tensors q {q}, k {k}, v {v}, o {o}, lse {lse}");

    /// <summary>The same check on lengths (of views, say); describe names them in the message.</summary>
    public static void Attention(AttentionShape s, AttentionMask mask, long q, long k, long v, long o, long lse, Func<string> describe)
    {
        s.Validate();
        long qLength = (long)s.Batch * s.QueryLength * s.Heads * s.HeadDim, kLength = (long)s.Batch * s.KeyLength * s.KvHeads * s.HeadDim;
        if (!(q == qLength && o == qLength && k == kLength && v == kLength && lse == (long)s.Batch * s.Heads * s.QueryLength))
            throw new ArgumentException($"{describe()} do not fit {s}");
        Require(mask.SegmentIds is null || mask.SegmentIds.Length == s.Batch * s.KeyLength,
            $"{mask.SegmentIds?.Length} segment ids for {s.Batch}x{s.KeyLength} keys");
        Require(mask.SequenceIds is null || mask.SequenceIds.Length == s.Batch * s.KeyLength,
            $"{mask.SequenceIds?.Length} sequence ids for {s.Batch}x{s.KeyLength} keys");
    }

    public static void Labels(Tensor logits, int[] labels)
    {
        Require(labels.Length == logits.Rows, $"{labels.Length} labels for {logits}");
        foreach (var label in labels)
            if (label != Cpu.CrossEntropy.IgnoreIndex) Cpu.CrossEntropy.CheckLabel(label, logits.Columns);
    }

    public static void SameLength(Tensor a, Tensor b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"{a} and {b} differ in size");
    }

    public static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }
}
