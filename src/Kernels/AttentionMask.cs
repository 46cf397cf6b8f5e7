namespace DrICL.Kernels;

/// <summary>Which demonstrations may see the prefix (BOS and instruction) under the zero-shot mask.</summary>
public enum PrefixVisibility { All, First, None }

/// <summary>
/// Shape of one attention call. q: [B,Tq,H,D], k and v: [B,Tk,KV,D]. Query row i sits at key index
/// QueryOffset + i (non-zero when decoding against a KV cache). Query head h reads key/value head h / (H / KV).
/// </summary>
public readonly record struct AttentionShape(int Batch, int QueryLength, int KeyLength, int Heads, int KvHeads, int HeadDim, int QueryOffset = 0)
{
    public int Group => Heads / KvHeads;
    public float Scale => 1f / MathF.Sqrt(HeadDim);

    public void Validate()
    {
        if (Batch <= 0 || QueryLength <= 0 || KeyLength <= 0 || Heads <= 0 || KvHeads <= 0 || HeadDim <= 0)
            throw new ArgumentException($"attention shape has a non-positive dimension: {this}");
        if (Heads % KvHeads != 0) throw new ArgumentException($"{Heads} query heads do not divide into {KvHeads} key/value heads");
        if (QueryOffset < 0 || QueryOffset + QueryLength > KeyLength)
            throw new ArgumentException($"queries at {QueryOffset}..{QueryOffset + QueryLength - 1} run past {KeyLength} keys");
    }
}

/// <summary>
/// Which keys a query may attend to. Always causal (key j visible to query i iff j &lt;= i); with
/// Window &gt; 0 also i - j &lt; Window. With SegmentIds ([B,Tk]: 0 = prefix, k = demonstration k) the
/// demonstration-isolating mask applies on top: a query in segment s &gt; 0 sees its own segment and the
/// prefix as Prefix allows; prefix queries stay plain causal. With SequenceIds ([B,Tk]) several episodes
/// packed into one row stay apart: a key is visible only from queries of the same sequence id.
/// </summary>
public readonly record struct AttentionMask(int Window = 0, int[]? SegmentIds = null, PrefixVisibility Prefix = PrefixVisibility.All, int[]? SequenceIds = null)
{
    public static AttentionMask Causal => new();

    /// <summary>Whether key j is visible to the query at key index i of sequence b (Tk keys per sequence).</summary>
    public bool IsVisible(int b, int i, int j, int keyLength)
    {
        if (j > i) return false;
        if (Window > 0 && i - j >= Window) return false;
        if (SequenceIds is not null && SequenceIds[b * keyLength + i] != SequenceIds[b * keyLength + j]) return false;
        if (SegmentIds is null) return true;
        int s = SegmentIds[b * keyLength + i];
        if (s == 0) return true;
        int sj = SegmentIds[b * keyLength + j];
        if (sj == s) return true;
        if (sj != 0) return false;
        return Prefix == PrefixVisibility.All || (Prefix == PrefixVisibility.First && s == 1);
    }

    /// <summary>The smallest key index any query at index i could see; lets kernels skip whole key blocks.</summary>
    public int FirstKey(int i) => Window > 0 ? Math.Max(0, i - Window + 1) : 0;
}
