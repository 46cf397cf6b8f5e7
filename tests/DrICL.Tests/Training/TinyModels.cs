using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Training;

namespace DrICL.Tests.Training;

/// <summary>A 2-layer, 16-wide model and small many-shot batches for training-loop and gradient tests.</summary>
public static class TinyModels
{
    public static Transformer Model(bool tied, int kvHeads, int? window, int seed)
    {
        var config = new ModelConfig(vocabSize: 23, hiddenSize: 16, intermediateSize: 24, layers: 2, heads: 4, kvHeads: kvHeads,
            rmsNormEps: 1e-5f, ropeTheta: 500f, slidingWindow: window, tieWordEmbeddings: tied, modelType: window is null ? "llama" : "mistral");
        var rng = new Random(seed);
        return new Transformer(config, CpuDevice.Instance, (name, shape) =>
        {
            var values = new float[Tensor.SizeOf(shape)];
            bool norm = name.EndsWith("norm.weight", StringComparison.Ordinal);
            for (int i = 0; i < values.Length; i++) values[i] = norm ? 1f + 0.2f * (float)(rng.NextDouble() - 0.5) : 0.3f * (float)(rng.NextDouble() * 2 - 1);
            return values;
        });
    }

    // Two sequences of 14 tokens: BOS + instruction (segment 0) then demonstrations of 3 tokens whose last 2 are answers.
    public static TokenBatch Batch(int seed)
    {
        const int b = 2, t = 14;
        var rng = new Random(seed);
        var ids = Enumerable.Range(0, b * t).Select(_ => rng.Next(3, 23)).ToArray();
        var labels = new int[b * t]; var demo = new int[b * t]; var seg = new int[b * t]; var pos = new int[b * t];
        for (int s = 0; s < b; s++)
            for (int i = 0; i < t; i++)
            {
                int x = s * t + i;
                pos[x] = i;
                labels[x] = -100;
                if (i < 2) continue;
                int k = (i - 2) / 3 + 1;
                seg[x] = k;
                int within = (i - 2) % 3;
                if (within >= 1 && i + 1 < t) { labels[x] = ids[x + 1]; demo[x] = k; }
            }
        return new TokenBatch(b, t, ids, labels, demo, seg, pos);
    }
}
