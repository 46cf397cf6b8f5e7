using DrICL.Model;

namespace DrICL.Cli;

/// <summary>One attention shape: q, k, v [B,S,H,D], as many key/value heads as query heads.</summary>
public sealed record AttentionCase(int Batch, int Seq, int Heads, int HeadDim, bool Causal);

/// <summary>An lm_head plus cross-entropy: hidden states [Tokens,Hidden], lm_head [Vocab,Hidden].</summary>
public sealed record CrossEntropyCase(int Tokens, int Hidden, int Vocab);

/// <summary>A full training step of a Llama of this shape on Batch × Seq tokens.</summary>
public sealed record TrainCase(int Batch, int Seq, int VocabSize, int HiddenSize, int IntermediateSize, int Layers, int Heads, int KvHeads,
    float RopeTheta, float RmsNormEps, bool TieWordEmbeddings)
{
    public ModelConfig ToConfig() => new(VocabSize, HiddenSize, IntermediateSize, Layers, Heads, KvHeads, RmsNormEps, RopeTheta,
        tieWordEmbeddings: TieWordEmbeddings, maxPositionEmbeddings: Math.Max(Seq, 2048));
}

/// <summary>
/// What `dricl bench cuda` measures, written to JSON for the PyTorch peer so that both sides run exactly
/// the same shapes with the same warm-up and repeat counts.
/// </summary>
public sealed record CudaBenchPlan(string Precision, int Warmup, int Reps, IReadOnlyList<AttentionCase> Attention,
    IReadOnlyList<CrossEntropyCase> CrossEntropy, TrainCase Train)
{
    /// <summary>Llama-3.2-1B's shape: d 2048, 16 layers, 32 heads of 64, 8 KV heads, FFN 8192, vocab 128256, tied, rope theta 500000.</summary>
    public static TrainCase Llama1B(int batch, int seq) => new(batch, seq, VocabSize: 128256, HiddenSize: 2048, IntermediateSize: 8192,
        Layers: 16, Heads: 32, KvHeads: 8, RopeTheta: 500000f, RmsNormEps: 1e-5f, TieWordEmbeddings: true);

    /// <summary>
    /// Attention at 16k tokens per call (B·S = 16384) for S = 1k..8k and the two head layouts of a 2048-wide
    /// model, causal only: the engine's attention is always causal (a decoder's), so a non-causal row would
    /// have nothing of ours to compare. Cross-entropy on 8k tokens of a 2048-wide model with Llama-3's and
    /// Llama-2's vocabularies. --quick keeps one sequence length per head layout, one vocabulary and fewer repeats.
    /// </summary>
    public static CudaBenchPlan Create(string precision, bool quick, int trainBatch, int trainSeq)
    {
        int[] seqs = quick ? [2048] : [1024, 2048, 4096, 8192];
        var attention = new List<AttentionCase>();
        foreach (var (heads, headDim) in new[] { (16, 128), (32, 64) })
            foreach (int seq in seqs)
                attention.Add(new AttentionCase(16384 / seq, seq, heads, headDim, Causal: true));
        int[] vocabs = quick ? [128256] : [128256, 32000];
        var crossEntropy = vocabs.Select(v => new CrossEntropyCase(8192, 2048, v)).ToList();
        return new CudaBenchPlan(precision, Warmup: quick ? 1 : 3, Reps: quick ? 3 : 10, attention, crossEntropy, Llama1B(trainBatch, trainSeq));
    }
}
