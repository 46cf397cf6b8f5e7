namespace DrICL.Kernels.Profiling;

/// <summary>
/// Wraps any device and records every op as a slice of the trace: timed by the device's own timer when it
/// is an ITimedDevice (GPU events), else by the host's wall clock, with the op's FLOPs and bytes counted from
/// its shapes (OpCost). The inner device does the work unchanged and owns the tensors (their Device is the
/// inner device), so code that must reach the profiled device takes it from the model, not from a tensor.
/// While it exists, Profiler ranges are recorded into the same trace; Dispose writes the trace's end and
/// disposes the inner device.
/// </summary>
public sealed class ProfiledDevice : IDevice
{
    static readonly string[] Y = ["y"], T = ["t"], SrcDst = ["src", "dst"], ABY = ["a", "b", "y"], DstSrc = ["dst", "src"],
        TableIdsY = ["table", "y"], DyDtable = ["dy", "dtable"], XWY = ["x", "w", "y"], DyXDx = ["dy", "x", "dx"], X = ["x"],
        GateUpH = ["gate", "up", "h"], DhDgate = ["dh", "dgate"], QKV = ["q", "k", "v"], LogitsV = ["logits"], P = ["p"];
    static readonly string[][] MatMulNames =
        [["a", "b", "c"], ["a", "bᵀ", "c"], ["aᵀ", "b", "c"], ["aᵀ", "bᵀ", "c"]];

    readonly IDevice inner;
    readonly ProfileRecorder recorder;
    readonly TraceWriter writer;
    readonly IReadOnlyDictionary<string, object> otherData;

    /// <param name="otherData">Written into the trace's otherData with the device and timer (the machine's peaks, the command).</param>
    public ProfiledDevice(IDevice inner, string tracePath, IReadOnlyDictionary<string, object> otherData)
    {
        this.inner = inner;
        var timer = inner is ITimedDevice timed ? timed.CreateTimer() : new WallClockTimer();
        writer = new TraceWriter(tracePath, "dricl", $"{inner.Name} ({timer.Name})");
        recorder = new ProfileRecorder(timer, writer);
        this.otherData = new Dictionary<string, object>(otherData) { ["device"] = inner.Name, ["timer"] = timer.Name };
        try { Profiler.Attach(recorder); }
        catch { writer.Dispose(); throw; }
    }

    public IDevice Inner => inner;
    public string Name => inner.Name;

    public Tensor Zeros(params int[] shape)
    {
        long t0 = recorder.Mark();
        var t = inner.Zeros(shape);
        recorder.Op("Zeros", t0, new OpCost(0, sizeof(float) * (long)t.Length), Y, [shape]);
        return t;
    }

    public Tensor Upload(ReadOnlySpan<float> host, params int[] shape)
    {
        long t0 = recorder.Mark();
        var t = inner.Upload(host, shape);
        recorder.Op("Upload", t0, new OpCost(0, sizeof(float) * (long)t.Length), Y, [shape]);
        return t;
    }

    public void Download(Tensor t, Span<float> host)
    {
        long t0 = recorder.Mark();
        inner.Download(t, host);
        recorder.Op("Download", t0, new OpCost(0, sizeof(float) * (long)t.Length), T, [t.Shape]);
    }

    public void Fill(Tensor t, float value)
    {
        long t0 = recorder.Mark();
        inner.Fill(t, value);
        recorder.Op("Fill", t0, OpCost.Elementwise(t.Length, 0, 0, 1), T, [t.Shape]);
    }

    public void Copy(Tensor src, Tensor dst)
    {
        long t0 = recorder.Mark();
        inner.Copy(src, dst);
        recorder.Op("Copy", t0, OpCost.Elementwise(src.Length, 0, 1, 1), SrcDst, [src.Shape, dst.Shape]);
    }

    public void CopyRows(Tensor src, Tensor dst, int dstRow)
    {
        long t0 = recorder.Mark();
        inner.CopyRows(src, dst, dstRow);
        recorder.Op("CopyRows", t0, OpCost.Elementwise(src.Length, 0, 1, 1), SrcDst, [src.Shape, dst.Shape]);
    }

    public void Add(Tensor a, Tensor b, Tensor y)
    {
        long t0 = recorder.Mark();
        inner.Add(a, b, y);
        recorder.Op("Add", t0, OpCost.Elementwise(y.Length, 1, 2, 1), ABY, [a.Shape, b.Shape, y.Shape]);
    }

    public void Accumulate(Tensor dst, Tensor src)
    {
        long t0 = recorder.Mark();
        inner.Accumulate(dst, src);
        recorder.Op("Accumulate", t0, OpCost.Elementwise(dst.Length, 1, 2, 1), DstSrc, [dst.Shape, src.Shape]);
    }

    public void Scale(Tensor t, float factor)
    {
        long t0 = recorder.Mark();
        inner.Scale(t, factor);
        recorder.Op("Scale", t0, OpCost.Elementwise(t.Length, 1, 1, 1), T, [t.Shape]);
    }

    public void MatMul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, bool accumulate)
    {
        long t0 = recorder.Mark();
        inner.MatMul(a, b, c, transA, transB, accumulate);
        int k = transA ? a.Rows : a.Columns;
        recorder.Op("MatMul", t0, OpCost.MatMul(c.Rows, c.Columns, k, accumulate), MatMulNames[(transA ? 2 : 0) + (transB ? 1 : 0)],
            [a.Shape, b.Shape, c.Shape], accumulate ? "accumulate" : null);
    }

    public void Embedding(Tensor table, int[] ids, Tensor y)
    {
        long t0 = recorder.Mark();
        inner.Embedding(table, ids, y);
        recorder.Op("Embedding", t0, OpCost.Embedding(ids.Length, table.Columns, backward: false), TableIdsY, [table.Shape, y.Shape]);
    }

    public void EmbeddingBackward(Tensor dy, int[] ids, Tensor dtable)
    {
        long t0 = recorder.Mark();
        inner.EmbeddingBackward(dy, ids, dtable);
        recorder.Op("EmbeddingBackward", t0, OpCost.Embedding(ids.Length, dtable.Columns, backward: true), DyDtable, [dy.Shape, dtable.Shape]);
    }

    public void RmsNorm(Tensor x, Tensor w, Tensor y, Tensor rstd, float eps)
    {
        long t0 = recorder.Mark();
        inner.RmsNorm(x, w, y, rstd, eps);
        recorder.Op("RmsNorm", t0, OpCost.RmsNorm(x.Rows, x.Columns, backward: false), XWY, [x.Shape, w.Shape, y.Shape]);
    }

    public void RmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, Tensor dw)
    {
        long t0 = recorder.Mark();
        inner.RmsNormBackward(dy, x, w, rstd, dx, dw);
        recorder.Op("RmsNormBackward", t0, OpCost.RmsNorm(x.Rows, x.Columns, backward: true), DyXDx, [dy.Shape, x.Shape, dx.Shape]);
    }

    public void Rope(Tensor x, int[] positions, int batch, int seq, int heads, int headDim, RopeFrequencies frequencies, bool inverse)
    {
        long t0 = recorder.Mark();
        inner.Rope(x, positions, batch, seq, heads, headDim, frequencies, inverse);
        recorder.Op(inverse ? "RopeBackward" : "Rope", t0, OpCost.Rope((long)batch * seq, heads, headDim), X, [x.Shape]);
    }

    public void SwiGlu(Tensor gate, Tensor up, Tensor h)
    {
        long t0 = recorder.Mark();
        inner.SwiGlu(gate, up, h);
        recorder.Op("SwiGlu", t0, OpCost.SwiGlu(h.Length, backward: false), GateUpH, [gate.Shape, up.Shape, h.Shape]);
    }

    public void SwiGluBackward(Tensor dh, Tensor gate, Tensor up, Tensor dgate, Tensor dup)
    {
        long t0 = recorder.Mark();
        inner.SwiGluBackward(dh, gate, up, dgate, dup);
        recorder.Op("SwiGluBackward", t0, OpCost.SwiGlu(dh.Length, backward: true), DhDgate, [dh.Shape, dgate.Shape]);
    }

    public void Attention(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, AttentionShape shape, AttentionMask mask)
    {
        long t0 = recorder.Mark();
        inner.Attention(q, k, v, o, lse, shape, mask);
        recorder.Op("Attention", t0, OpCost.Attention(shape, mask.Window, backward: false), QKV, [q.Shape, k.Shape, v.Shape], Describe(shape, mask));
    }

    public void AttentionBackward(Tensor dO, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dq, Tensor dk, Tensor dv, AttentionShape shape, AttentionMask mask)
    {
        long t0 = recorder.Mark();
        inner.AttentionBackward(dO, q, k, v, o, lse, dq, dk, dv, shape, mask);
        recorder.Op("AttentionBackward", t0, OpCost.Attention(shape, mask.Window, backward: true), QKV, [q.Shape, k.Shape, v.Shape], Describe(shape, mask));
    }

    public void CrossEntropy(Tensor logits, int[] labels, Tensor nll, Tensor lse)
    {
        long t0 = recorder.Mark();
        inner.CrossEntropy(logits, labels, nll, lse);
        recorder.Op("CrossEntropy", t0, OpCost.CrossEntropy(logits.Rows, logits.Columns, Labelled(labels), backward: false), LogitsV, [logits.Shape]);
    }

    public void CrossEntropyBackward(Tensor logits, int[] labels, Tensor lse, Tensor weights, Tensor dlogits)
    {
        long t0 = recorder.Mark();
        inner.CrossEntropyBackward(logits, labels, lse, weights, dlogits);
        recorder.Op("CrossEntropyBackward", t0, OpCost.CrossEntropy(logits.Rows, logits.Columns, Labelled(labels), backward: true), LogitsV, [logits.Shape]);
    }

    public double SumOfSquares(Tensor t)
    {
        long t0 = recorder.Mark();
        double s = inner.SumOfSquares(t);
        recorder.Op("SumOfSquares", t0, OpCost.Elementwise(t.Length, 2, 1, 0), T, [t.Shape]);
        return s;
    }

    public void AdamW(Tensor p, Tensor g, Tensor m, Tensor v, AdamWConfig config, int step, float gradScale)
    {
        long t0 = recorder.Mark();
        inner.AdamW(p, g, m, v, config, step, gradScale);
        recorder.Op("AdamW", t0, OpCost.AdamW(p.Length), P, [p.Shape]);
    }

    /// <summary>Ends the trace (closing any range still open), then disposes the inner device.</summary>
    public void Dispose()
    {
        try
        {
            recorder.Finish();
            writer.Finish(otherData);
        }
        finally
        {
            Profiler.Detach(recorder);
            writer.Dispose();
            inner.Dispose();
        }
    }

    static long Labelled(int[] labels)
    {
        long n = 0;
        foreach (int label in labels) if (label != Cpu.CrossEntropy.IgnoreIndex) n++;
        return n;
    }

    static string Describe(AttentionShape s, AttentionMask mask) =>
        $"B={s.Batch} Tq={s.QueryLength} Tk={s.KeyLength} H={s.Heads} KV={s.KvHeads} D={s.HeadDim}" +
        (s.QueryOffset > 0 ? $" offset={s.QueryOffset}" : "") + (mask.Window > 0 ? $" window={mask.Window}" : "") +
        (mask.SegmentIds is not null ? " demonstration-isolating" : "") + (mask.SequenceIds is not null ? " packed" : "");
}
