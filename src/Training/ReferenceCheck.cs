using DrICL.Kernels;
using DrICL.Model;
using DrICL.Model.Safetensors;
using DrICL.Training.Objectives;
using DrICL.Training.Optimization;

namespace DrICL.Training;

/// <summary>One recomputed tensor against its golden value; NotCompared says why the profile did not compare it.</summary>
public sealed record CheckResult(string Name, double MaxAbsDiff, double Allowed, string? Problem = null, string? NotCompared = null)
{
    public bool Passed => Problem is null && (NotCompared is not null || MaxAbsDiff <= Allowed);
}

/// <summary>
/// Recomputes every tensor of a golden fixture folder (config.json, model.safetensors, inputs.safetensors,
/// expected.safetensors, case.json; see tests/DrICL.Tests/fixtures/README.md) and compares each with its
/// expected value: forwards, token NLLs, the three losses, DrICL internals, both gradient sets, the AdamW
/// trajectory and greedy generation. How close each must be is the ToleranceProfile's call (by default
/// the one for the device: the fixture's own tolerances, or the bf16 ones on a bf16 CUDA device).
/// </summary>
public static class ReferenceCheck
{
    public static ReferenceCase LoadCase(string dir) => ReferenceCase.Load(Path.Combine(dir, "case.json"));

    public static IEnumerable<CheckResult> Run(string dir, IDevice device, ToleranceProfile? profile = null, bool allowNonFinite = false)
    {
        var config = ModelConfig.Load(Path.Combine(dir, "config.json"));
        var @case = LoadCase(dir);
        profile ??= ToleranceProfile.For(device, @case);
        using var expected = new SafetensorsFile(Path.Combine(dir, "expected.safetensors"));
        string inputs = Path.Combine(dir, "inputs.safetensors");
        var batch = LoadBatch(inputs);
        if (batch.RangeProblem(config.VocabSize, config.MaxPositionEmbeddings) is { } problem) throw new InvalidDataException($"{inputs}: {problem}");
        var produced = new Dictionary<string, (float[] Values, CheckedKind Kind)>();
        var model = ModelLoader.Load(config, Path.Combine(dir, "model.safetensors"), device, allowNonFinite);

        var it = new InstructionTuning().Run(model, batch, backward: true);
        produced["token_nll"] = (it.Details["token_nll"], CheckedKind.Activation);
        produced["loss.it"] = ([(float)it.Loss], CheckedKind.Loss);
        AddGradients(produced, "grad.it.", model);
        model.ZeroGrad();

        produced["loss.metaicl"] = ([(float)new MetaIcl().Run(model, batch, backward: false).Loss], CheckedKind.Loss);

        var dricl = new DrIcl(@case.DrIcl).Run(model, batch, backward: true);
        produced["loss.dricl"] = ([(float)dricl.Loss], CheckedKind.Loss);
        produced["token_nll_zero"] = (dricl.Details["token_nll_zero"], CheckedKind.Activation);
        foreach (var (name, values) in dricl.Details)
            if (name.StartsWith("dricl.", StringComparison.Ordinal)) produced[name] = (values, CheckedKind.Loss);
        AddGradients(produced, "grad.dricl.", model);
        model.ZeroGrad();

        var noGrad = Model.Autograd.Tape.NoGrad(device);
        produced["logits"] = (model.Forward(noGrad, batch.InputIds, batch.PositionIds, batch.Batch, batch.Seq).Value.ToArray(), CheckedKind.Activation);
        produced["logits_zero"] = (model.Forward(noGrad, batch.InputIds, batch.PositionIds, batch.Batch, batch.Seq, batch.SegmentIds, @case.DrIcl.Prefix).Value.ToArray(), CheckedKind.Activation);

        if (expected.Tensors.ContainsKey("generate.prompt"))
        {
            var prompt = expected.ReadFloats("generate.prompt").Select(x => (int)x).ToArray();
            int count = expected.Info("generate.greedy").Shape.Aggregate(1, (a, b) => a * b);
            produced["generate.greedy"] = (Greedy(model, prompt, count), CheckedKind.Generated);
            produced["generate.prompt"] = (batch.InputIds.Take(prompt.Length).Select(x => (float)x).ToArray(), CheckedKind.Exact);
        }

        Train(ModelLoader.Load(config, Path.Combine(dir, "model.safetensors"), device, allowNonFinite), batch, @case, produced);

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
            double diff = 0, maxAbs = 0;
            for (int i = 0; i < want.Length; i++)
            {
                diff = Math.Max(diff, double.IsNaN(got.Values[i]) ? double.PositiveInfinity : Math.Abs((double)got.Values[i] - want[i]));
                maxAbs = Math.Max(maxAbs, Math.Abs(want[i]));
            }
            yield return profile.Allowed(got.Kind, maxAbs) is { } allowed
                ? new CheckResult(name, diff, allowed)
                : new CheckResult(name, diff, double.NaN, NotCompared: $"{got.Kind} not compared under the {profile.Name} profile");
        }
    }

    // Non-finite logits (weights loaded with allowNonFinite) give no tokens: NaN fails the comparison instead of stopping the check.
    static float[] Greedy(Transformer model, int[] prompt, int count)
    {
        try { return [.. Generation.Generate(model, prompt, count, new SamplingOptions()).Select(x => (float)x)]; }
        catch (NonFiniteLogitsException) { return Enumerable.Repeat(float.NaN, count).ToArray(); }
    }

    static void Train(Transformer model, TokenBatch batch, ReferenceCase @case, Dictionary<string, (float[], CheckedKind)> produced)
    {
        var objective = new DrIcl(@case.DrIcl);
        var optimizer = new AdamWOptimizer(model.Parameters, @case.AdamW, @case.MaxGradNorm);
        var losses = new float[@case.Steps];
        var norms = new float[@case.Steps];
        for (int s = 0; s < @case.Steps; s++)
        {
            model.ZeroGrad();
            losses[s] = (float)objective.Run(model, batch, backward: true).Loss;
            try { norms[s] = (float)optimizer.Update(); }
            catch (NonFiniteGradientException) // weights loaded with allowNonFinite: the rest of the trajectory is NaN and fails
            {
                losses.AsSpan(s + 1).Fill(float.NaN);
                norms.AsSpan(s).Fill(float.NaN);
                break;
            }
        }
        produced["train.loss"] = (losses, CheckedKind.Loss);
        produced["train.grad_norm"] = (norms, CheckedKind.Loss);
        foreach (var (name, p) in model.Parameters) produced["train.param." + name] = (p.Value.ToArray(), CheckedKind.Parameter);
    }

    static void AddGradients(Dictionary<string, (float[], CheckedKind)> produced, string prefix, Transformer model)
    {
        foreach (var (name, p) in model.Parameters)
            produced[prefix + name] = (p.Grad?.ToArray() ?? new float[p.Value.Length], CheckedKind.Gradient);
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
