using DrICL.Kernels;
using DrICL.Model.Autograd;

namespace DrICL.Training.Optimization;

/// <summary>
/// AdamW over a model's parameters with global-norm gradient clipping (PyTorch clip_grad_norm_ then
/// torch.optim.AdamW). Moments are float32 tensors on the parameters' device.
/// </summary>
public sealed class AdamWOptimizer
{
    readonly IReadOnlyList<(string Name, Var Value)> parameters;
    readonly Tensor[] m, v;
    readonly IDevice? device;

    public AdamWConfig Config { get; set; }
    public float MaxGradNorm { get; }
    public int Step { get; private set; }

    /// <param name="device">Where the updates run: the model's device (a profiled one wraps the parameters' own); default each parameter's.</param>
    public AdamWOptimizer(IReadOnlyList<(string Name, Var Value)> parameters, AdamWConfig config, float maxGradNorm, IDevice? device = null)
    {
        this.parameters = parameters;
        Config = config;
        MaxGradNorm = maxGradNorm;
        this.device = device;
        m = parameters.Select(p => DeviceOf(p.Value).Zeros(p.Value.Shape)).ToArray();
        v = parameters.Select(p => DeviceOf(p.Value).Zeros(p.Value.Shape)).ToArray();
    }

    /// <summary>The global L2 norm of all gradients (absent gradients count as zero).</summary>
    public double GradNorm()
    {
        double sum = 0;
        foreach (var (_, p) in parameters) if (p.Grad is not null) sum += DeviceOf(p).SumOfSquares(p.Grad);
        return Math.Sqrt(sum);
    }

    /// <summary>Clips and applies one update; returns the gradient norm before clipping.</summary>
    public double Update()
    {
        double norm = GradNorm();
        if (!double.IsFinite(norm)) throw new NonFiniteGradientException(norm);
        float scale = MaxGradNorm > 0 ? (float)Math.Min(1.0, MaxGradNorm / (norm + 1e-6)) : 1f;
        Step++;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i].Value;
            if (p.Grad is null) continue;
            DeviceOf(p).AdamW(p.Value, p.Grad, m[i], v[i], Config, Step, scale);
        }
        return norm;
    }

    IDevice DeviceOf(Var p) => device ?? p.Value.Device;

    /// <summary>The optimizer state by name, for checkpoints: exp_avg and exp_avg_sq of each parameter.</summary>
    public IEnumerable<(string Name, Tensor Value)> State()
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            yield return ($"optimizer.exp_avg.{parameters[i].Name}", m[i]);
            yield return ($"optimizer.exp_avg_sq.{parameters[i].Name}", v[i]);
        }
    }

    public void Restore(int step, Func<string, float[]> read)
    {
        Step = step;
        foreach (var (name, t) in State())
        {
            var values = read(name);
            if (values.Length != t.Length) throw new InvalidDataException($"{name}: {values.Length} values for {t}");
            t.Device.Copy(t.Device.Upload(values, t.Shape), t);
        }
    }
}

public sealed class NonFiniteGradientException(double norm)
    : Exception($"the gradient norm is {norm}: training diverged (NaN/Inf); lower the learning rate or check the data");
