using DrICL.Kernels;
using DrICL.Model;
using DrICL.Model.Safetensors;
using DrICL.Training.Objectives;
using DrICL.Training.Optimization;

namespace DrICL.Training;

/// <summary>One recomputed tensor against its golden value.</summary>
public sealed record CheckResult(string Name, double MaxAbsDiff, double Allowed, string? Problem = null)
{
    public bool Passed => Problem is null && MaxAbsDiff <= Allowed;
}

/// <summary>
/// Recomputes every tensor of a golden fixture folder (config.json, model.safetensors, inputs.safetensors,
/// expected.safetensors, case.json; see tests/DrICL.Tests/fixtures/README.md) and compares each with its
/// expected value: forwards, token NLLs, the three losses, DrICL internals, both gradient sets, the AdamW
/// trajectory and greedy generation.
/// </summary>
public static class ReferenceCheck
{
    public static IEnumerable<CheckResult> Run(string dir, IDevice device)
    {
        var config = ModelConfig.Load(Path.Combine(dir, "config.json"));
        var @case = ReferenceCase.Load(Path.Combine(dir, "case.json"));
        using var expected = new SafetensorsFile(Path.Combine(dir, "expected.safetensors"));
        var batch = LoadBatch(Path.Combine(dir, "inputs.safetensors"));
        var tol = @case.Tolerances;
        var produced = new Dictionary<string, (float[] Values, double Tol)>();
        var model = ModelLoader.Load(config, Path.Combine(dir, "model.safetensors"), device);

        var it = new InstructionTuning().Run(model, batch, backward: true);
        produced["token_nll"] = (it.Details["token_nll"], tol.Logits);
        produced["loss.it"] = ([(float)it.Loss], tol.Loss);
        AddGradients(produced, "grad.it.", model, tol.Grad);
        model.ZeroGrad();

        produced["loss.metaicl"] = ([(float)new MetaIcl().Run(model, batch, backward: false).Loss], tol.Loss);

        var dricl = new DrIcl(@case.DrIcl).Run(model, batch, backward: true);
        produced["loss.dricl"] = ([(float)dricl.Loss], tol.Loss);
        produced["token_nll_zero"] = (dricl.Details["token_nll_zero"], tol.Logits);
        foreach (var (name, values) in dricl.Details)
            if (name.StartsWith("dricl.", StringComparison.Ordinal)) produced[name] = (values, tol.Loss);
        AddGradients(produced, "grad.dricl.", model, tol.Grad);
        model.ZeroGrad();

        var noGrad = Model.Autograd.Tape.NoGrad(device);
        produced["logits"] = (model.Forward(noGrad, batch.InputIds, batch.PositionIds, batch.Batch, batch.Seq).Value.ToArray(), tol.Logits);
        produced["logits_zero"] = (model.Forward(noGrad, batch.InputIds, batch.PositionIds, batch.Batch, batch.Seq, batch.SegmentIds, @case.DrIcl.Prefix).Value.ToArray(), tol.Logits);

        if (expected.Tensors.ContainsKey("generate.prompt"))
        {
            var prompt = expected.ReadFloats("generate.prompt").Select(x => (int)x).ToArray();
            int count = expected.Info("generate.greedy").Shape.Aggregate(1, (a, b) => a * b);
            produced["generate.greedy"] = (Generation.Generate(model, prompt, count, new SamplingOptions()).Select(x => (float)x).ToArray(), 0);
            produced["generate.prompt"] = (batch.InputIds.Take(prompt.Length).Select(x => (float)x).ToArray(), 0);
        }

        Train(ModelLoader.Load(config, Path.Combine(dir, "model.safetensors"), device), batch, @case, produced);

        foreach (var name in expected.Tensors.Keys.Order(StringComparer.Ordinal))
        {
            if (!produced.TryGetValue(name, out var got))
            {
                yield return new CheckResult(name, double.NaN, 0, "not produced: unknown expected tensor");
                continue;
            }
            var want = expected.ReadFloats(name);
            if (want.Length != got.Values.Length)
            {
                yield return new CheckResult(name, double.NaN, 0, $"{got.Values.Length} values computed, {want.Length} expected");
                continue;
            }
            double diff = 0, scale = 1;
            for (int i = 0; i < want.Length; i++)
            {
                diff = Math.Max(diff, double.IsNaN(got.Values[i]) ? double.PositiveInfinity : Math.Abs((double)got.Values[i] - want[i]));
                scale = Math.Max(scale, Math.Abs(want[i]));
            }
            yield return new CheckResult(name, diff, got.Tol * scale);
        }
    }

    static void Train(Transformer model, TokenBatch batch, ReferenceCase @case, Dictionary<string, (float[], double)> produced)
    {
        var objective = new DrIcl(@case.DrIcl);
        var optimizer = new AdamWOptimizer(model.Parameters, @case.AdamW, @case.MaxGradNorm);
        var losses = new float[@case.Steps];
        var norms = new float[@case.Steps];
        for (int s = 0; s < @case.Steps; s++)
        {
            model.ZeroGrad();
            losses[s] = (float)objective.Run(model, batch, backward: true).Loss;
            norms[s] = (float)optimizer.Update();
        }
        produced["train.loss"] = (losses, @case.Tolerances.Loss);
        produced["train.grad_norm"] = (norms, @case.Tolerances.Loss);
        foreach (var (name, p) in model.Parameters) produced["train.param." + name] = (p.Value.ToArray(), @case.Tolerances.Param);
    }

    static void AddGradients(Dictionary<string, (float[], double)> produced, string prefix, Transformer model, double tol)
    {
        foreach (var (name, p) in model.Parameters)
            produced[prefix + name] = (p.Grad?.ToArray() ?? new float[p.Value.Length], tol);
    }

    /// <summary>Reads the I32 [B,T] tensors input_ids, labels, demo_ids, segment_ids and position_ids.</summary>
    public static TokenBatch LoadBatch(string path)
    {
        using var file = new SafetensorsFile(path);
        var shape = file.Info("input_ids").Shape;
        if (shape.Length != 2) throw new InvalidDataException($"{path}: input_ids has shape {Tensor.Format(shape)}, expected [B,T]");
        var batch = new TokenBatch(shape[0], shape[1], file.ReadInts("input_ids"), file.ReadInts("labels"), file.ReadInts("demo_ids"),
            file.ReadInts("segment_ids"), file.ReadInts("position_ids"));
        batch.Validate();
        return batch;
    }
}
