namespace DrICL.Kernels.Cpu;

/// <summary>The default device: tensors in managed arrays, ops on the SIMD/multithreaded CPU kernels.</summary>
public sealed class CpuDevice : IDevice
{
    public static readonly CpuDevice Instance = new();

    public string Name => "cpu";

    public Tensor Zeros(params int[] shape) => new(this, shape, new float[Tensor.SizeOf(shape)]);

    public Tensor Upload(ReadOnlySpan<float> host, params int[] shape)
    {
        var t = Zeros(shape);
        if (host.Length != t.Length) throw new ArgumentException($"{host.Length} values do not fill shape {Tensor.Format(shape)}");
        host.CopyTo(t.Span);
        return t;
    }

    public void Download(Tensor t, Span<float> host) => t.Span.CopyTo(host);

    public void Fill(Tensor t, float value) => t.Span.Fill(value);

    public void Copy(Tensor src, Tensor dst)
    {
        SameLength(src, dst);
        src.Span.CopyTo(dst.Span);
    }

    public void CopyRows(Tensor src, Tensor dst, int dstRow)
    {
        if (src.Columns != dst.Columns || dstRow < 0 || dstRow + src.Rows > dst.Rows)
            throw new ArgumentException($"cannot copy {src} into {dst} at row {dstRow}");
        src.Span.CopyTo(dst.Span.Slice(dstRow * dst.Columns));
    }

    public void Add(Tensor a, Tensor b, Tensor y)
    {
        SameLength(a, b); SameLength(a, y);
        System.Numerics.Tensors.TensorPrimitives.Add(a.Span, b.Span, y.Span);
    }

    public void Accumulate(Tensor dst, Tensor src)
    {
        SameLength(dst, src);
        System.Numerics.Tensors.TensorPrimitives.Add(dst.Span, src.Span, dst.Span);
    }

    public void Scale(Tensor t, float factor) => System.Numerics.Tensors.TensorPrimitives.Multiply(t.Span, factor, t.Span);

    public void MatMul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, bool accumulate)
    {
        int m = transA ? a.Columns : a.Rows, k = transA ? a.Rows : a.Columns;
        int kb = transB ? b.Columns : b.Rows, n = transB ? b.Rows : b.Columns;
        if (k != kb || c.Rows != m || c.Columns != n)
            throw new ArgumentException($"matmul shapes do not fit: {a}{(transA ? "ᵀ" : "")} @ {b}{(transB ? "ᵀ" : "")} -> {c}");
        Gemm.Multiply(a.Span, b.Span, c.Span, m, n, k, transA, transB, accumulate);
    }

    public void Embedding(Tensor table, int[] ids, Tensor y) =>
        Cpu.Embedding.Forward(table.Span, ids, y.Span, table.Rows, table.Columns);

    public void EmbeddingBackward(Tensor dy, int[] ids, Tensor dtable) =>
        Cpu.Embedding.Backward(dy.Span, ids, dtable.Span, dtable.Rows, dtable.Columns);

    public void RmsNorm(Tensor x, Tensor w, Tensor y, Tensor rstd, float eps) =>
        Cpu.RmsNorm.Forward(x.Span, w.Span, y.Span, rstd.Span, x.Rows, x.Columns, eps);

    public void RmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, Tensor dw) =>
        Cpu.RmsNorm.Backward(dy.Span, x.Span, w.Span, rstd.Span, dx.Span, dw.Span, x.Rows, x.Columns);

    public void Rope(Tensor x, int[] positions, int batch, int seq, int heads, int headDim, RopeFrequencies frequencies, bool inverse) =>
        Cpu.Rope.Apply(x.Span, positions, batch, seq, heads, headDim, frequencies, inverse);

    public void SwiGlu(Tensor gate, Tensor up, Tensor h) => Cpu.SwiGlu.Forward(gate.Span, up.Span, h.Span);

    public void SwiGluBackward(Tensor dh, Tensor gate, Tensor up, Tensor dgate, Tensor dup) =>
        Cpu.SwiGlu.Backward(dh.Span, gate.Span, up.Span, dgate.Span, dup.Span);

    public void Attention(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, AttentionShape shape, AttentionMask mask) =>
        FlashAttention.Forward(q.Span, k.Span, v.Span, o.Span, lse.Span, shape, mask);

    public void AttentionBackward(Tensor dO, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dq, Tensor dk, Tensor dv, AttentionShape shape, AttentionMask mask) =>
        FlashAttention.Backward(dO.Span, q.Span, k.Span, v.Span, o.Span, lse.Span, dq.Span, dk.Span, dv.Span, shape, mask);

    public void CrossEntropy(Tensor logits, int[] labels, Tensor nll, Tensor lse) =>
        Cpu.CrossEntropy.Forward(logits.Span, labels, nll.Span, lse.Span, logits.Rows, logits.Columns);

    public void CrossEntropyBackward(Tensor logits, int[] labels, Tensor lse, Tensor weights, Tensor dlogits) =>
        Cpu.CrossEntropy.Backward(logits.Span, labels, lse.Span, weights.Span, dlogits.Span, logits.Rows, logits.Columns);

    public double SumOfSquares(Tensor t) => Cpu.AdamW.SumOfSquares(t.Span);

    public void AdamW(Tensor p, Tensor g, Tensor m, Tensor v, AdamWConfig config, int step, float gradScale) =>
        Cpu.AdamW.Step(p.Span, g.Span, m.Span, v.Span, config, step, gradScale);

    public void Dispose() { }

    static void SameLength(Tensor a, Tensor b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"{a} and {b} differ in size");
    }
}
