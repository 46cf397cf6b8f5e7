namespace DrICL.Kernels.Cpu;

/// <summary>
/// Scaled dot-product attention with the engine's masks (causal, sliding window, demonstration
/// isolation) and grouped-query heads. The reference here keeps one row of scores per query; the fast
/// kernels never hold more than a tile of it (online softmax) and recompute scores in the backward.
/// </summary>
public static partial class FlashAttention
{
    // q: [B,Tq,H,D], k, v: [B,Tk,KV,D] -> o: [B,Tq,H,D], lse: [B,H,Tq]
    public static void ForwardReference(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o, Span<float> lse, AttentionShape s, AttentionMask mask)
    {
        s.Validate();
        int d = s.HeadDim;
        var scores = new double[s.KeyLength];
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.Heads; h++)
            {
                int kvh = h / s.Group;
                for (int i = 0; i < s.QueryLength; i++)
                {
                    int qi = s.QueryOffset + i;
                    var qrow = q.Slice(((b * s.QueryLength + i) * s.Heads + h) * d, d);
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < s.KeyLength; j++)
                    {
                        if (!mask.IsVisible(b, qi, j, s.KeyLength)) { scores[j] = double.NegativeInfinity; continue; }
                        var krow = k.Slice(((b * s.KeyLength + j) * s.KvHeads + kvh) * d, d);
                        double dot = 0;
                        for (int c = 0; c < d; c++) dot += (double)qrow[c] * krow[c];
                        scores[j] = dot * s.Scale;
                        max = Math.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < s.KeyLength; j++) sum += Math.Exp(scores[j] - max);
                    var orow = o.Slice(((b * s.QueryLength + i) * s.Heads + h) * d, d);
                    for (int c = 0; c < d; c++)
                    {
                        double acc = 0;
                        for (int j = 0; j < s.KeyLength; j++)
                            if (scores[j] != double.NegativeInfinity)
                                acc += Math.Exp(scores[j] - max) / sum * v[((b * s.KeyLength + j) * s.KvHeads + kvh) * d + c];
                        orow[c] = (float)acc;
                    }
                    lse[(b * s.Heads + h) * s.QueryLength + i] = (float)(max + Math.Log(sum));
                }
            }
    }

    // dO: [B,Tq,H,D] -> dq: [B,Tq,H,D], dk, dv: [B,Tk,KV,D] (all overwritten).
    // P = softmax(S); dV = P^T dO; dP = dO V^T; dS = P * (dP - rowsum(dO * O)); dQ = scale dS K; dK = scale dS^T Q.
    public static void BackwardReference(ReadOnlySpan<float> dO, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> o, ReadOnlySpan<float> lse,
        Span<float> dq, Span<float> dk, Span<float> dv, AttentionShape s, AttentionMask mask)
    {
        s.Validate();
        int d = s.HeadDim;
        dq.Clear(); dk.Clear(); dv.Clear();
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.Heads; h++)
            {
                int kvh = h / s.Group;
                for (int i = 0; i < s.QueryLength; i++)
                {
                    int qi = s.QueryOffset + i;
                    int qo = ((b * s.QueryLength + i) * s.Heads + h) * d;
                    double rowL = lse[(b * s.Heads + h) * s.QueryLength + i];
                    double delta = 0;
                    for (int c = 0; c < d; c++) delta += (double)dO[qo + c] * o[qo + c];
                    for (int j = 0; j < s.KeyLength; j++)
                    {
                        if (!mask.IsVisible(b, qi, j, s.KeyLength)) continue;
                        int ko = ((b * s.KeyLength + j) * s.KvHeads + kvh) * d;
                        double dot = 0, dp = 0;
                        for (int c = 0; c < d; c++) { dot += (double)q[qo + c] * k[ko + c]; dp += (double)dO[qo + c] * v[ko + c]; }
                        double p = Math.Exp(dot * s.Scale - rowL);
                        double ds = p * (dp - delta) * s.Scale;
                        for (int c = 0; c < d; c++)
                        {
                            dv[ko + c] += (float)(p * dO[qo + c]);
                            dq[qo + c] += (float)(ds * k[ko + c]);
                            dk[ko + c] += (float)(ds * q[qo + c]);
                        }
                    }
                }
            }
    }
}
