using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Model.Autograd;
using NUnit.Framework;

namespace DrICL.Tests.Model;

public class GenerationTests
{
    static Transformer Mistral() => ModelLoader.Load(ModelConfig.Load(Fixtures.File("models", "tiny-mistral-gqa-bf16", "config.json")),
        Fixtures.File("models", "tiny-mistral-gqa-bf16", "model.safetensors"), CpuDevice.Instance);

    [Test]
    public void CachedDecodingEqualsRecomputingTheWholeContext()
    {
        // The window (12) is shorter than prompt + generation, so the cache must apply the sliding mask too.
        var model = Mistral();
        int[] prompt = [1, 17, 42, 5, 63, 8, 29];
        var cached = Generation.Generate(model, prompt, 14, new SamplingOptions()).ToList();

        var context = prompt.ToList();
        var tape = Tape.NoGrad(model.Device);
        for (int step = 0; step < 14; step++)
        {
            var logits = model.Forward(tape, context.ToArray(), Enumerable.Range(0, context.Count).ToArray(), 1, context.Count).Value.Span;
            context.Add(Generation.ArgMax(logits.Slice((context.Count - 1) * model.Config.VocabSize, model.Config.VocabSize)));
        }
        Assert.That(cached, Is.EqualTo(context.Skip(prompt.Length)));
    }

    [Test]
    public void SamplingIsReproducibleForASeedAndTopKOneIsGreedy()
    {
        var model = Mistral();
        int[] prompt = [1, 3, 4];
        var hot = new SamplingOptions(Temperature: 1.5f, TopP: 0.95f, Seed: 42);
        var first = Generation.Generate(model, prompt, 10, hot).ToList();
        Assert.That(Generation.Generate(model, prompt, 10, hot).ToList(), Is.EqualTo(first));
        Assert.That(Generation.Generate(model, prompt, 10, hot with { Seed = 43 }).ToList(), Is.Not.EqualTo(first));
        Assert.That(Generation.Generate(model, prompt, 10, new SamplingOptions(Temperature: 2f, TopK: 1, Seed: 5)).ToList(),
            Is.EqualTo(Generation.Generate(model, prompt, 10, new SamplingOptions()).ToList()));
    }

    [Test]
    public void SamplingFollowsTheDistribution()
    {
        float[] logits = [0f, MathF.Log(3f), float.NegativeInfinity, MathF.Log(6f)];
        var rng = new SplitMix64(1);
        var counts = new int[4];
        for (int i = 0; i < 20000; i++) counts[Generation.Pick(logits, new SamplingOptions(Temperature: 1f), rng)]++;
        Assert.That(counts[2], Is.Zero);
        Assert.That(counts[0] / 20000.0, Is.EqualTo(0.1).Within(0.01));
        Assert.That(counts[3] / 20000.0, Is.EqualTo(0.6).Within(0.015));
        // top-p 0.5 keeps only the most likely token (0.6 >= 0.5).
        for (int i = 0; i < 100; i++) Assert.That(Generation.Pick(logits, new SamplingOptions(Temperature: 1f, TopP: 0.5f), rng), Is.EqualTo(3));
    }

    [Test]
    public void StopsAtTheStopToken()
    {
        var model = Mistral();
        int[] prompt = [1, 17, 42];
        var free = Generation.Generate(model, prompt, 8, new SamplingOptions()).ToList();
        var stopped = Generation.Generate(model, prompt, 8, new SamplingOptions(), stopId: free[2]).ToList();
        Assert.That(stopped, Is.EqualTo(free.Take(free.IndexOf(free[2]) + 1)));
    }

    // Against the plain scan (first largest wins), over ties, NaN and vocabulary-sized rows.
    [TestCase(1)]
    [TestCase(17)]
    [TestCase(32000)]
    public void ArgMaxPicksTheFirstLargestAndNeverNaN(int n)
    {
        var rng = new Random(n);
        for (int trial = 0; trial < 50; trial++)
        {
            var x = Enumerable.Range(0, n).Select(_ => (float)Math.Round(rng.NextDouble() * 8)).ToArray();  // few distinct values: ties
            if (trial % 3 == 1) x[rng.Next(n)] = float.NaN;
            if (trial % 3 == 2) x[0] = float.NaN;
            if (trial % 5 == 4) Array.Fill(x, float.NegativeInfinity, 0, Math.Min(n, 40));  // -inf still beats NaN
            int expected = -1;
            for (int i = 0; i < n; i++) if (!float.IsNaN(x[i]) && (expected < 0 || x[i] > x[expected])) expected = i;
            Assert.That(Generation.ArgMax(x), Is.EqualTo(Math.Max(expected, 0)), $"trial {trial}");
        }
        Assert.That(Generation.ArgMax([float.NaN, float.NaN]), Is.Zero);
        Assert.That(Generation.ArgMax([float.NaN, .. Enumerable.Repeat(float.NegativeInfinity, 40)]), Is.EqualTo(1));
    }
}
