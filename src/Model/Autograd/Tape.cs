using DrICL.Kernels;
using DrICL.Kernels.Profiling;

namespace DrICL.Model.Autograd;

/// <summary>
/// A minimal reverse-mode autograd: each op computes its output and records a closure that, given the
/// output's gradient, adds into its inputs' gradients. Backward runs the closures newest first.
/// Fused ops (attention, RMSNorm, the lm_head cross-entropy) are single nodes, so the tape stays short and the
/// kernels keep their own saved state. A tape made with recording off is for inference: no closures,
/// no gradients, and activations can be collected as soon as they are used.
/// </summary>
public sealed class Tape(IDevice device, bool recording = true)
{
    readonly List<Action> steps = [];

    public IDevice Device { get; } = device;
    public bool Recording { get; } = recording;

    public static Tape NoGrad(IDevice device) => new(device, recording: false);

    /// <summary>Records a backward step when any input needs a gradient.</summary>
    public void Record(Action backward, params Var[] inputs)
    {
        if (!Recording) return;
        foreach (var v in inputs)
            if (v.RequiresGrad) { steps.Add(Profiler.Active?.InScope(backward) ?? backward); return; }
    }

    public Var Output(Tensor value, params Var[] inputs)
    {
        bool needs = false;
        if (Recording) foreach (var v in inputs) needs |= v.RequiresGrad;
        return new Var(value, needs);
    }

    /// <summary>Runs every recorded step, newest first. Seed the output gradients before calling.</summary>
    public void Backward()
    {
        using var range = Profiler.Range("backward");
        for (int i = steps.Count - 1; i >= 0; i--) steps[i]();
        steps.Clear();
    }

    /// <summary>
    /// Adds a gradient into v. write fills a tensor of v's shape by overwriting it; when v has no gradient
    /// yet it writes straight into a fresh one, otherwise into a scratch tensor that is then added.
    /// </summary>
    public void AddGrad(Var v, Action<Tensor> write)
    {
        if (GradTarget(v) is not { } target) return;
        write(target);
        Settle(v, target);
    }

    /// <summary>
    /// Where a kernel that overwrites its output should write v's gradient: straight into a fresh gradient
    /// when v has none yet, else into scratch that Settle then adds. Saves a copy in the common case.
    /// </summary>
    public Tensor? GradTarget(Var v) => !v.RequiresGrad ? null : v.Grad is null ? v.Grad = Device.Zeros(v.Shape) : Device.Zeros(v.Shape);

    /// <summary>Completes GradTarget: adds the scratch into v's gradient when it was not written in place.</summary>
    public void Settle(Var v, Tensor? target)
    {
        if (target is not null && !ReferenceEquals(target, v.Grad)) Device.Accumulate(v.Grad!, target);
    }

    /// <summary>Passes a gradient through unchanged (a residual branch): v takes it as its own when it has none yet.</summary>
    public void PassGrad(Var v, Tensor grad)
    {
        if (!v.RequiresGrad) return;
        if (v.Grad is null) v.Grad = grad;
        else Device.Accumulate(v.Grad, grad);
    }

    /// <summary>The gradient of v, allocated as zeros when absent, for ops that accumulate in place.</summary>
    public Tensor GradOf(Var v) => v.Grad ??= Device.Zeros(v.Shape);
}
