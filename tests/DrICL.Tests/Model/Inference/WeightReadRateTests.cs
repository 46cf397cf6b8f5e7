using DrICL.Cli;
using DrICL.Kernels.Cpu;
using DrICL.Model.Inference;
using NUnit.Framework;

namespace DrICL.Tests.Model.Inference;

public class WeightReadRateTests
{
    // The wrapping sum of each matrix's 32-bit words, matrix by matrix in a plain loop.
    static unsafe uint ScalarChecksum(InferenceWeights w)
    {
        uint sum = 0;
        foreach (var m in w.StepMatrices)
        {
            byte* p = (byte*)m.Data;
            long i = 0;
            for (; i + 4 <= m.Bytes; i += 4) sum += *(uint*)(p + i);
            if (i < m.Bytes) sum += *(ushort*)(p + i);
        }
        return sum;
    }

    [TestCase("tiny-mistral-gqa-bf16", WeightFormat.Bf16)]
    [TestCase("tiny-llama-f32", WeightFormat.F32)]
    [TestCase("tiny-llama3-scaled", WeightFormat.Bf16)]
    public void EveryThreadCountReadsEachWeightByteOnce(string model, WeightFormat format)
    {
        using var weights = new InferenceWeights(Fixtures.File("models", model), format);
        var read = new WeightReadRate(weights);
        Assert.That(read.Bytes, Is.EqualTo(weights.BytesPerToken - weights.Embedding.Bytes / weights.Embedding.Rows));
        uint expected = ScalarChecksum(weights);
        foreach (int threads in new[] { 1, 2, 3, 7 })
            Assert.That(read.Checksum(threads), Is.EqualTo(expected), $"{threads} threads");
        Assert.That(read.Measure(2, 2), Is.GreaterThan(0));
    }
}
