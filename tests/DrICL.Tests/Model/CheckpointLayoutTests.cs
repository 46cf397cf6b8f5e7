using System.Text.Json.Nodes;
using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Model.Inference;
using DrICL.Model.Safetensors;
using DrICL.Tests.Robustness;
using NUnit.Framework;

namespace DrICL.Tests.Model;

/// <summary>
/// CheckpointLayout against the golden fixtures' files, and the one-line refusals both loaders (training and
/// inference) and the CLI give for a checkpoint that does not fit its config.json.
/// </summary>
public class CheckpointLayoutTests
{
    [TestCase("tiny-llama-f32")]
    [TestCase("tiny-mistral-gqa-bf16")]
    [TestCase("tiny-llama3-scaled")]
    public void NamesEveryTensorOfTheFixtureWithItsShape(string fixture)
    {
        var config = ModelConfig.Load(Fixtures.File("models", fixture, "config.json"));
        using var file = new SafetensorsFile(Fixtures.File("models", fixture, "model.safetensors"));
        var layout = new CheckpointLayout(config);
        Assert.That(layout.Tensors.ToDictionary(t => t.Name, t => t.Shape),
            Is.EquivalentTo(file.Tensors.Values.Where(t => !(config.TieWordEmbeddings && t.Name == "lm_head.weight")).ToDictionary(t => t.Name, t => t.Shape)));
        Assert.That(layout.LmHead is null, Is.EqualTo(config.TieWordEmbeddings));
    }

    [Test]
    public void BuildsInCheckpointOrderAndTiesTheLmHeadToTheEmbedding()
    {
        var config = new ModelConfig(vocabSize: 11, hiddenSize: 8, intermediateSize: 12, layers: 2, heads: 4, kvHeads: 2, tieWordEmbeddings: true);
        var layout = new CheckpointLayout(config);
        var order = new List<string>();
        string Name(CheckpointTensor t)
        {
            order.Add(t.Name);
            return t.Name;
        }
        var weights = layout.Build(Name, Name);
        Assert.That(order, Is.EqualTo(layout.Tensors.Select(t => t.Name)));
        Assert.That(weights.LmHead, Is.EqualTo("model.embed_tokens.weight"));
        Assert.That(weights.Layers[1].K, Is.EqualTo("model.layers.1.self_attn.k_proj.weight"));
        Assert.That(layout.Layers[1].K.Shape, Is.EqualTo(new[] { 4, 8 }), "2 kv heads of 2");
        Assert.That(layout.Layers[0].Down.Shape, Is.EqualTo(new[] { 8, 12 }));
    }

    static void RefusedByBothLoaders(string folder, string message)
    {
        Assert.That(() => ModelLoader.LoadFolder(folder, CpuDevice.Instance), Throws.TypeOf<InvalidDataException>().With.Message.EqualTo($"{folder}: {message}"));
        Assert.That(() => new InferenceWeights(folder, WeightFormat.F32), Throws.TypeOf<InvalidDataException>().With.Message.EqualTo($"{folder}: {message}"));
        Workspace.AssertRefused(CliRunner.Run("generate", "--model", folder, "--prompt-ids", "1,2", "--max-tokens", "1"), $"{folder}: {message}");
    }

    static void EditConfig(string folder, string key, int value)
    {
        string path = Path.Combine(folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json[key] = value;
        File.WriteAllText(path, json.ToJsonString());
    }

    [Test, Category("Robustness")]
    public void AMissingTensorIsNamed()
    {
        using var work = new Workspace();
        string model = work.Model(layers: 2);
        string path = Path.Combine(model, SafetensorsCheckpoint.SingleFileName);
        List<SafetensorsTensor> kept;
        using (var file = new SafetensorsFile(path))
            kept = [.. file.Tensors.Values.Where(t => t.Name != "model.layers.1.mlp.up_proj.weight").Select(t => SafetensorsTensor.FromFloats(t.Name, t.Shape, file.ReadFloats(t.Name)))];
        SafetensorsWriter.Write(path, kept);
        RefusedByBothLoaders(model, "missing weight model.layers.1.mlp.up_proj.weight");
    }

    [Test, Category("Robustness")]
    public void AnIllShapedTensorIsNamedWithBothShapes()
    {
        using var work = new Workspace();
        string model = work.Model();
        EditConfig(model, "intermediate_size", 40);
        RefusedByBothLoaders(model, "model.layers.0.mlp.gate_proj.weight has shape [32,16], config.json implies [40,16]");
    }

    [Test, Category("Robustness")]
    public void TensorsTheConfigHasNoPlaceForAreListed()
    {
        using var work = new Workspace();
        string model = work.Model(layers: 2);
        EditConfig(model, "num_hidden_layers", 1);
        RefusedByBothLoaders(model, "weights not used by this llama config: model.layers.1.input_layernorm.weight, model.layers.1.self_attn.q_proj.weight, " +
            "model.layers.1.self_attn.k_proj.weight, model.layers.1.self_attn.v_proj.weight, model.layers.1.self_attn.o_proj.weight, …");
    }
}
