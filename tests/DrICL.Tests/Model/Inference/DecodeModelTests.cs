using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Model.Autograd;
using DrICL.Model.Inference;
using DrICL.Model.Safetensors;
using NUnit.Framework;

namespace DrICL.Tests.Model.Inference;

public class DecodeModelTests
{
    public static readonly string[] Models = ["tiny-llama-f32", "tiny-mistral-gqa-bf16", "tiny-llama3-scaled"];

    static string Folder(string name) => Fixtures.File("models", name);

    // Logits of every position of ids, recomputed by the training Transformer: [T, V].
    static float[] TransformerLogits(string name, int[] ids)
    {
        var model = ModelLoader.LoadFolder(Folder(name), CpuDevice.Instance);
        return model.Forward(Tape.NoGrad(model.Device), ids, Enumerable.Range(0, ids.Length).ToArray(), 1, ids.Length).Value.ToArray();
    }

    [TestCaseSource(nameof(Models))]
    public void PrefillAndStepsGiveTheTransformersLogits(string name)
    {
        int[] ids = [1, 17, 42, 5, 63, 8, 29, 3, 11, 40, 2, 9, 33, 12, 7, 50];  // past the Mistral window of 12
        var expected = TransformerLogits(name, ids);
        using var model = DecodeModel.Load(Folder(name), WeightFormat.F32, 32, threads: 2);
        int v = model.Config.VocabSize, prompt = 5;
        Assert.That(model.Prefill(ids.AsSpan(0, prompt)).ToArray(), Is.EqualTo(expected.AsSpan((prompt - 1) * v, v).ToArray()).Within(1e-4f), "prefill");
        for (int t = prompt; t < ids.Length; t++)
            Assert.That(model.Step(ids[t]).ToArray(), Is.EqualTo(expected.AsSpan(t * v, v).ToArray()).Within(1e-4f), $"step at position {t}");
    }

    [TestCaseSource(nameof(Models))]
    public void Bf16WeightsAgreeWithF32OnMostGreedyTokens(string name)
    {
        static List<int> Greedy(DecodeModel model, int[] prompt)
        {
            model.Truncate(0);
            var session = new DecodeSession(model);
            return session.Generate(prompt, 16, new Sampler(new SamplingOptions(), model.Config.VocabSize)).ToList();
        }
        using var f32 = DecodeModel.Load(Folder(name), WeightFormat.F32, 64, threads: 2);
        using var bf16 = DecodeModel.Load(Folder(name), WeightFormat.Bf16, 64, threads: 2);
        int same = 0, total = 0;
        foreach (var prompt in new[] { new[] { 1, 5, 9 }, new[] { 1, 30, 2, 7, 7 }, new[] { 1, 12 }, new[] { 1, 40, 41, 42, 43, 44 } })
        {
            var a = Greedy(f32, prompt);
            var b = Greedy(bf16, prompt);
            same += a.Zip(b).Count(p => p.First == p.Second);
            total += a.Count;
        }
        TestContext.Out.WriteLine($"{name}: bf16 agrees with f32 on {same}/{total} greedy tokens");
        Assert.That(same, Is.GreaterThanOrEqualTo(total * 3 / 4), $"{same}/{total}");
    }

    // The bf16 prefill (GEMM projections widening the weights while packing) against bf16 steps (matrix-vector
    // products widening them in registers): the same bf16 weights, so only the summation order differs.
    [TestCaseSource(nameof(Models))]
    public void Bf16PrefillGivesTheLogitsOfBf16Steps(string name)
    {
        int[] ids = [1, 17, 42, 5, 63, 8, 29, 3, 11, 40, 2, 9, 33, 12, 7, 50];
        using var model = DecodeModel.Load(Folder(name), WeightFormat.Bf16, 32, threads: 2);
        float[] stepped = [];
        foreach (int id in ids) stepped = model.Step(id).ToArray();
        model.Truncate(0);
        Assert.That(model.Prefill(ids.AsSpan(0, 7)).ToArray(), Is.Not.EqualTo(stepped), "a shorter prompt gives other logits");
        model.Truncate(0);
        Assert.That(model.Prefill(ids).ToArray(), Is.EqualTo(stepped).Within(1e-4f));
    }

    // A prompt of more than two batches: each batch attends to the cache the earlier ones filled (and, for
    // Mistral, to its window), and the positions after it continue from the cache. With bf16 weights the cache is
    // bf16, and each batch widens the rows of the earlier ones.
    [Test, Combinatorial]
    public void LongPromptsPrefillInBatchesAsStepsDo([ValueSource(nameof(Models))] string name, [Values] WeightFormat format)
    {
        int n = 2 * DecodeModel.PrefillChunk + 3;
        using var model = DecodeModel.Load(Folder(name), format, n + 1, threads: 2);
        var rng = new Random(5);
        var ids = Enumerable.Range(0, n + 1).Select(_ => rng.Next(model.Config.VocabSize)).ToArray();
        var stepped = new List<float[]>();
        foreach (int id in ids) stepped.Add(model.Step(id).ToArray());
        model.Truncate(0);
        Assert.That(model.Prefill(ids.AsSpan(0, n)).ToArray(), Is.EqualTo(stepped[n - 1]).Within(1e-4f), "prefill");
        Assert.That(model.Step(ids[n]).ToArray(), Is.EqualTo(stepped[n]).Within(1e-4f), "the step after it");
    }

    // The fixtures' heads are 8 or 16 wide and their cache rows short, so their steps split attention across the
    // threads only past 1024 positions. Here heads of 64 (two sharing one kv head) split from 256 visible positions
    // on, on the Vector512 kernels, and the steps must agree with the prefill's flash attention, with and without a
    // window (280: the last positions see a range that starts past 0 and still splits); with bf16 weights, over a bf16 cache.
    [Test, Combinatorial]
    public void StepsSplittingAttentionByPositionAgreeWithPrefill([Values(null, 280)] int? window, [Values] WeightFormat format)
    {
        const int n = 300;
        var config = new ModelConfig(vocabSize: 40, hiddenSize: 128, intermediateSize: 96, layers: 1, heads: 2, kvHeads: 1,
            slidingWindow: window, tieWordEmbeddings: true, maxPositionEmbeddings: n + 1, modelType: window is null ? "llama" : "mistral");
        string folder = Directory.CreateTempSubdirectory("dricl-decode-").FullName;
        try
        {
            var rng = new Random(11);
            var layout = new CheckpointLayout(config);
            SafetensorsWriter.Write(Path.Combine(folder, SafetensorsCheckpoint.SingleFileName), layout.Tensors.Select(t =>
                SafetensorsTensor.FromFloats(t.Name, t.Shape, Enumerable.Range(0, t.Shape.Aggregate(1, (a, b) => a * b))
                    .Select(_ => t.Shape.Length == 1 ? 1f : (float)(rng.NextDouble() - 0.5) * 0.4f).ToArray(), DType.F32)));
            File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
            using var model = DecodeModel.Load(folder, format, n + 1, threads: 2);
            // bf16: the prefill's keys and values differ from the steps' in the last float32 bits (summation order), and
            // rounding to bf16 turns a few of those into one bf16 step (2^-8): 4e-4 measured, 6e-3 when the prefill skips the rounding.
            float tolerance = format == WeightFormat.F32 ? 1e-4f : 1e-3f;
            var ids = Enumerable.Range(0, n + 1).Select(_ => rng.Next(config.VocabSize)).ToArray();
            var stepped = ids.Select(id => model.Step(id).ToArray()).ToList();
            model.Truncate(0);
            Assert.That(model.Prefill(ids.AsSpan(0, n)).ToArray(), Is.EqualTo(stepped[n - 1]).Within(tolerance), "prefill");
            Assert.That(model.Step(ids[n]).ToArray(), Is.EqualTo(stepped[n]).Within(tolerance), "the step after it");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // One array per layer: a cache past 2^31 values in all still allocates (lazily: untouched pages cost nothing), and a
    // context whose single layer cannot be one array is refused with a message naming the limit.
    [Test]
    public void KvCachesAreOneArrayPerLayer()
    {
        var big = new DecodeCache(layers: 5, context: 1 << 20, width: 512, WeightFormat.Bf16);
        Assert.That(big.Format, Is.EqualTo(WeightFormat.Bf16));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DecodeCache(layers: 1, context: 1 << 24, width: 4096, WeightFormat.F32));
        Assert.That(e!.Message, Does.Contain("at most 524287 positions"));
    }

    [Test]
    public void Bf16CheckpointsAreUsedInPlaceAndOthersConverted()
    {
        using (var mapped = new InferenceWeights(Folder("tiny-mistral-gqa-bf16"), WeightFormat.Bf16))
            Assert.That(mapped.MappedBytes, Is.EqualTo(mapped.BytesPerToken - mapped.Embedding.Bytes / mapped.Embedding.Rows + mapped.Embedding.Bytes),
                "every matrix of a bf16 file (embedding, layers, lm_head) is read from the map");
        using (var widened = new InferenceWeights(Folder("tiny-mistral-gqa-bf16"), WeightFormat.F32))
            Assert.That(widened.MappedBytes, Is.Zero);
        using (var rounded = new InferenceWeights(Folder("tiny-llama-f32"), WeightFormat.Bf16))
        {
            Assert.That(rounded.MappedBytes, Is.Zero);
            Assert.That(rounded.LmHead.Format, Is.EqualTo(WeightFormat.Bf16));
        }
    }
}
