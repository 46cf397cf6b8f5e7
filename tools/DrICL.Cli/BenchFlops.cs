using DrICL.Model;

namespace DrICL.Cli;

/// <summary>
/// The FLOP counts and peak rates `dricl bench cuda` divides by. Attention follows FlashAttention's
/// benchmarks; the train step follows the PaLM paper's model FLOPs utilization (MFU): useful FLOPs only,
/// so recomputation (the chunked cross-entropy's second lm_head GEMM) counts as cost, not as work.
/// </summary>
public static class BenchFlops
{
    /// <summary>Forward attention: QKᵀ and PV, 2·S²·D multiply-adds each per head: 4·B·S²·H·D, half of it when causal.</summary>
    public static double AttentionForward(int batch, int seq, int heads, int headDim, bool causal) =>
        4.0 * batch * seq * seq * heads * headDim * (causal ? 0.5 : 1.0);

    /// <summary>Backward attention: 2.5× the forward (recomputed QKᵀ, then dV, dP, dQ, dK).</summary>
    public static double AttentionBackward(int batch, int seq, int heads, int headDim, bool causal) =>
        2.5 * AttentionForward(batch, seq, heads, headDim, causal);

    /// <summary>
    /// The weights that take part in a matrix multiply: every projection and the lm_head (the embedding
    /// when tied: its lookup is free, its lm_head GEMM is not). Norm weights and an untied input embedding
    /// are left out.
    /// </summary>
    public static long MatmulParameters(ModelConfig c)
    {
        long hidden = c.HiddenSize, q = (long)c.Heads * c.HeadDim, kv = (long)c.KvHeads * c.HeadDim;
        long perLayer = hidden * q + 2 * hidden * kv + q * hidden + 3 * hidden * c.IntermediateSize;
        return c.Layers * perLayer + (long)c.VocabSize * hidden;
    }

    /// <summary>
    /// FLOPs of one causal training step (forward + backward) on batch × seq tokens:
    /// 6 · matmul parameters · tokens (2 forward, 4 backward per weight and token) plus the attention
    /// scores and values, 12 · L · H · D · S² · B halved for the causal mask (PaLM appendix B).
    /// </summary>
    public static double TrainStep(ModelConfig c, int batch, int seq) =>
        6.0 * MatmulParameters(c) * batch * seq + 12.0 * c.Layers * c.Heads * c.HeadDim * (double)seq * seq * batch / 2;

    /// <summary>Model FLOPs utilization: achieved FLOP/s over the GPU's peak.</summary>
    public static double Mfu(double flops, double seconds, double peakTflops) => flops / seconds / (peakTflops * 1e12);

    /// <summary>
    /// Dense (no sparsity) bf16 tensor-core peak TFLOP/s from NVIDIA's datasheets, by the GPU's product
    /// name; null for a GPU not listed (pass --peak-tflops). More specific names come first.
    /// </summary>
    public static (double Tflops, string Gpu)? PeakBf16(string gpuName)
    {
        foreach (var (key, tflops, gpu) in PeakTable)
            if (gpuName.Contains(key, StringComparison.OrdinalIgnoreCase)) return (tflops, gpu);
        return null;
    }

    static readonly (string Key, double Tflops, string Gpu)[] PeakTable =
    [
        ("GH200", 989, "GH200"),
        ("H200", 989, "H200"),
        ("H100 PCIe", 756, "H100 PCIe"),
        ("H100 NVL", 835, "H100 NVL"),
        ("H100", 989, "H100 SXM"),
        ("A100", 312, "A100"),
    ];
}
