namespace DrICL.Kernels.Cpu;

/// <summary>
/// Attention of one new position over the KV cache, the per-token attention of batch-1 decoding. The reference
/// takes one query head and the count cached positions it sees (rows of its kv head, stride floats apart in the cache):
///   s_j = q · k_j / sqrt(D),   p = softmax(s),   o = Σ_j p_j v_j
/// </summary>
public sealed unsafe partial class DecodeAttention
{
    // q, o: [D]; keys, values: count rows of [D], stride floats apart; scores: [count] scratch.
    public static void HeadReference(float* q, float* keys, float* values, nint stride, int count, int d, float* scores, float* o)
    {
        float scale = 1f / MathF.Sqrt(d), max = float.NegativeInfinity;
        for (int j = 0; j < count; j++)
        {
            float s = 0;
            for (int c = 0; c < d; c++) s += q[c] * keys[j * stride + c];
            scores[j] = s * scale;
            max = MathF.Max(max, scores[j]);
        }
        float sum = 0;
        for (int j = 0; j < count; j++)
        {
            scores[j] = MathF.Exp(scores[j] - max);
            sum += scores[j];
        }
        for (int c = 0; c < d; c++) o[c] = 0;
        for (int j = 0; j < count; j++)
            for (int c = 0; c < d; c++) o[c] += scores[j] / sum * values[j * stride + c];
    }
}
