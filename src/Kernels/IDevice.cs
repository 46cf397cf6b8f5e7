namespace DrICL.Kernels;

/// <summary>
/// The one seam between the model/training code and the hardware. Every op the engine needs is here;
/// CpuDevice implements it with the SIMD kernels in Cpu/, and a CUDA device implements the same calls.
/// Integer inputs (token ids, labels, positions) come as host arrays: they are small and read-only.
/// Methods that write a tensor overwrite it unless the name or a flag says they accumulate.
/// </summary>
public interface IDevice : IDisposable
{
    string Name { get; }

    Tensor Zeros(params int[] shape);
    Tensor Upload(ReadOnlySpan<float> host, params int[] shape);
    void Download(Tensor t, Span<float> host);

    void Fill(Tensor t, float value);
    void Copy(Tensor src, Tensor dst);
    /// <summary>dst[dstRow..] = src (both seen as rows of the same width).</summary>
    void CopyRows(Tensor src, Tensor dst, int dstRow);
    void Add(Tensor a, Tensor b, Tensor y);
    void Accumulate(Tensor dst, Tensor src);
    void Scale(Tensor t, float factor);

    /// <summary>c[M,N] = (accumulate ? c : 0) + op(a)[M,K] @ op(b)[K,N], op = transpose when the flag is set.</summary>
    void MatMul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, bool accumulate);

    // table: [V,C], ids: [N] -> y: [N,C]
    void Embedding(Tensor table, int[] ids, Tensor y);
    // dy: [N,C] -> dtable: [V,C] (accumulated)
    void EmbeddingBackward(Tensor dy, int[] ids, Tensor dtable);

    // x: [N,C], w: [C] -> y: [N,C], rstd: [N]
    void RmsNorm(Tensor x, Tensor w, Tensor y, Tensor rstd, float eps);
    // dy: [N,C] -> dx: [N,C], dw: [C] (accumulated)
    void RmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, Tensor dw);

    // x: [B,T,H,D] rotated in place by positions [B,T], pair i by pos * frequencies.Inverse[i]; inverse rotates back (the backward pass).
    void Rope(Tensor x, int[] positions, int batch, int seq, int heads, int headDim, RopeFrequencies frequencies, bool inverse);

    // gate, up: [N,F] -> h: [N,F] = silu(gate) * up
    void SwiGlu(Tensor gate, Tensor up, Tensor h);
    // dh: [N,F] -> dgate, dup: [N,F]
    void SwiGluBackward(Tensor dh, Tensor gate, Tensor up, Tensor dgate, Tensor dup);

    // q: [B,Tq,H,D], k, v: [B,Tk,KV,D] -> o: [B,Tq,H,D], lse: [B,H,Tq]
    void Attention(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, AttentionShape shape, AttentionMask mask);
    // dO: [B,Tq,H,D] -> dq: [B,Tq,H,D], dk, dv: [B,Tk,KV,D]
    void AttentionBackward(Tensor dO, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dq, Tensor dk, Tensor dv, AttentionShape shape, AttentionMask mask);

    // logits: [N,V], labels: [N] (-100 = no loss) -> nll: [N] (0 where no loss), lse: [N]
    void CrossEntropy(Tensor logits, int[] labels, Tensor nll, Tensor lse);
    // dlogits[t] = weights[t] * (softmax(logits[t]) - onehot(labels[t])); zero rows where no loss.
    // dlogits may be logits itself (in place: the chunked lm_head loss overwrites its logits scratch).
    void CrossEntropyBackward(Tensor logits, int[] labels, Tensor lse, Tensor weights, Tensor dlogits);

    double SumOfSquares(Tensor t);
    /// <summary>One AdamW step on p with gradient g * gradScale (gradScale carries norm clipping); step is 1-based.</summary>
    void AdamW(Tensor p, Tensor g, Tensor m, Tensor v, AdamWConfig config, int step, float gradScale);
}
