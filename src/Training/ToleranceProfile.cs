using DrICL.Kernels;
using DrICL.Kernels.Ilgpu;

namespace DrICL.Training;

/// <summary>What a golden tensor is, which decides how closely a recomputation must match it.</summary>
public enum CheckedKind
{
    /// <summary>Forward outputs: logits and token NLLs.</summary>
    Activation,
    /// <summary>Losses, DrICL internals, gradient norms.</summary>
    Loss,
    Gradient,
    /// <summary>Parameters after the AdamW steps.</summary>
    Parameter,
    /// <summary>Ids that any arithmetic reproduces exactly (the prompt read back).</summary>
    Exact,
    /// <summary>Greedily generated token ids.</summary>
    Generated,
}

/// <summary>
/// The tolerances a reference check applies. The fixture profile is the fixture's own (case.json, written
/// for fp32 arithmetic): allowed = tol · max(1, max|expected|), and tokens must be equal. The bf16 profile
/// is for a device whose matrix units read bf16, and widens each rule to what bf16 rounding can explain,
/// never narrower than the fixture's:
/// <list type="bullet">
/// <item>bf16 keeps 8 significant bits, a unit roundoff u = 2^-8. A GEMM with bf16 inputs and fp32
/// accumulation is off by a few u relative to the magnitudes involved, and a forward pass compounds a few
/// of those, so activations, logits and losses get 2^-6 = 4u relative to max|expected| (PyTorch's
/// torch.testing uses rtol 1.6e-2 for bf16).</item>
/// <item>Gradients go through twice as many bf16 GEMMs (each backward GEMM reads a rounded activation and a
/// rounded upstream gradient), and small gradient entries are differences of large ones: 2^-4 relative.</item>
/// <item>Parameters after AdamW: an update is lr · m̂/√v̂, and |m̂/√v̂| ≤ 1 in the first steps, so any
/// gradient error, even a sign flip of a near-zero gradient, moves a parameter at most 2·lr per step from
/// the reference: 2 · lr · steps absolute (plus the 2^-6 relative rule).</item>
/// <item>Greedy tokens are not compared: bf16 rounding may flip an argmax between near-tied logits, after
/// which the sequences legitimately diverge; the logits check covers the same forward.</item>
/// </list>
/// </summary>
public sealed class ToleranceProfile
{
    public const double Bf16ActivationRelative = 1.0 / 64;
    public const double Bf16GradientRelative = 1.0 / 16;

    readonly Tolerances fixture;
    readonly double activationRelative, gradientRelative, parameterAbsolute;
    readonly bool comparesGenerated;
    readonly string rules;

    public string Name { get; }

    ToleranceProfile(string name, Tolerances fixture, double activationRelative, double gradientRelative, double parameterAbsolute, bool comparesGenerated, string rules)
    {
        Name = name;
        this.fixture = fixture;
        this.activationRelative = activationRelative;
        this.gradientRelative = gradientRelative;
        this.parameterAbsolute = parameterAbsolute;
        this.comparesGenerated = comparesGenerated;
        this.rules = rules;
    }

    public static ToleranceProfile Fixture(ReferenceCase @case)
    {
        var t = @case.Tolerances;
        return new("fixture", t, 0, 0, 0, comparesGenerated: true,
            $"case.json's logits {t.Logits:G3}, loss {t.Loss:G3}, grad {t.Grad:G3}, param {t.Param:G3}, each × max(1, max|expected|); tokens exact");
    }

    public static ToleranceProfile Bf16(ReferenceCase @case)
    {
        double parameterAbsolute = 2.0 * @case.AdamW.Lr * @case.Steps;
        return new("bf16", @case.Tolerances, Bf16ActivationRelative, Bf16GradientRelative, parameterAbsolute, comparesGenerated: false,
            $"case.json's, widened to {Bf16ActivationRelative:G3} × max|expected| for activations and losses, {Bf16GradientRelative:G3} × for gradients, " +
            $"{parameterAbsolute:G3} (2·lr·steps) for parameters; greedy tokens not compared");
    }

    /// <summary>The bf16 profile on a GPU device computing in bf16; the fixture's own tolerances everywhere else.</summary>
    public static ToleranceProfile For(IDevice device, ReferenceCase @case) =>
        device is IlgpuDevice { Precision: ComputePrecision.Bf16 } ? Bf16(@case) : Fixture(@case);

    /// <summary>
    /// The largest max|got - expected| that passes for a tensor of this kind whose largest |expected| is
    /// maxAbsExpected; null when this profile does not compare the kind.
    /// </summary>
    public double? Allowed(CheckedKind kind, double maxAbsExpected)
    {
        double scaled = Math.Max(1, maxAbsExpected);
        return kind switch
        {
            CheckedKind.Activation => Math.Max(fixture.Logits * scaled, activationRelative * maxAbsExpected),
            CheckedKind.Loss => Math.Max(fixture.Loss * scaled, activationRelative * maxAbsExpected),
            CheckedKind.Gradient => Math.Max(fixture.Grad * scaled, gradientRelative * maxAbsExpected),
            CheckedKind.Parameter => Math.Max(fixture.Param * scaled, Math.Max(activationRelative * maxAbsExpected, parameterAbsolute)),
            CheckedKind.Exact => 0,
            CheckedKind.Generated => comparesGenerated ? 0 : null,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>One line for reports: the profile and its rules.</summary>
    public override string ToString() => $"tolerance profile {Name}: {rules}";
}
