using DrICL.Kernels;

namespace DrICL.Model;

/// <summary>Fresh weights for training from scratch, as Hugging Face initializes Llama: N(0, 0.02) matrices, unit norms.</summary>
public static class ModelInit
{
    public static Transformer Random(ModelConfig config, IDevice device, ulong seed, float std = 0.02f)
    {
        var rng = new SplitMix64(seed);
        return new Transformer(config, device, (name, shape) =>
        {
            var values = new float[Tensor.SizeOf(shape)];
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) Array.Fill(values, 1f);
            else for (int i = 0; i < values.Length; i++) values[i] = std * Gaussian(rng);
            return values;
        });
    }

    /// <summary>A standard normal sample (Box-Muller), reproducible from the generator's state.</summary>
    public static float Gaussian(SplitMix64 rng)
    {
        double u = 1.0 - rng.NextDouble(), v = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2 * Math.PI * v));
    }
}
