using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Model.Autograd;
using DrICL.Model.Inference;
using NUnit.Framework;

namespace DrICL.Tests.Model.Inference;

public class DecodeModelTests
{
    public static readonly string[] Models = ["tiny-llama-f32", "tiny-mistral-gqa-bf16"];

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
}
