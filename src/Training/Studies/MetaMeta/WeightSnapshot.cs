using DrICL.Kernels;
using DrICL.Model;

namespace DrICL.Training.Studies.MetaMeta;

/// <summary>
/// A host copy of a model's weights, by parameter name: what the study keeps of the base model and of the
/// meta-meta-learned initialization, and builds fresh models from, so every fine-tuning run starts from the same
/// weights with a fresh optimizer.
/// </summary>
public sealed class WeightSnapshot
{
    readonly Dictionary<string, float[]> weights;

    WeightSnapshot(Dictionary<string, float[]> weights) => this.weights = weights;

    public static WeightSnapshot Of(Transformer model) =>
        new(model.Parameters.ToDictionary(p => p.Name, p => p.Value.Value.ToArray()));

    /// <summary>A new model with these weights (each a copy: training it leaves the snapshot as it is).</summary>
    public Transformer Build(ModelConfig config, IDevice device) =>
        new(config, device, (name, _) => (float[])weights[name].Clone());

    /// <summary>
    /// The first-order Reptile update: this + step × (adapted − this), parameter by parameter. Step 1 takes the
    /// adapted weights, 0 keeps these.
    /// </summary>
    public WeightSnapshot MovedTowards(Transformer adapted, float step) =>
        new(adapted.Parameters.ToDictionary(p => p.Name, p =>
        {
            var from = weights[p.Name];
            var to = p.Value.Value.ToArray();
            var moved = new float[from.Length];
            for (int i = 0; i < from.Length; i++) moved[i] = from[i] + step * (to[i] - from[i]);
            return moved;
        }));
}
