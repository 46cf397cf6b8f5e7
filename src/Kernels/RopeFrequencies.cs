namespace DrICL.Kernels;

/// <summary>
/// The inverse frequencies of rotary position embedding for one head dimension D: pair i (dimension i with
/// i + D/2) rotates by angle pos * Inverse[i]. Plain RoPE has Inverse[i] = theta^(-2i/D); Llama 3 rescales
/// them by wavelength (see Create). Values are float32 as Hugging Face rounds them, so every device rotates
/// by the same angles. Equal when the head dim and every frequency are equal (kernels cache tables by it).
/// </summary>
public sealed class RopeFrequencies : IEquatable<RopeFrequencies>
{
    /// <summary>[D/2] inverse frequencies, radians per position.</summary>
    public float[] Inverse { get; }
    public int HeadDim { get; }

    RopeFrequencies(float[] inverse, int headDim)
    {
        Inverse = inverse;
        HeadDim = headDim;
    }

    /// <summary>
    /// theta^(-2i/D) for i &lt; D/2 (formed in double, rounded to float32), then, with a Llama 3 scaling of
    /// factor f, low/high frequency factors lo/hi and original context L, per wavelength w = 2π / inv_freq:
    /// kept when w &lt; L/hi, divided by f when w &gt; L/lo, else blended with s = (L/w - lo) / (hi - lo) as
    /// (1 - s) * inv_freq / f + s * inv_freq. The blend runs in float32, in transformers' order of operations.
    /// </summary>
    public static RopeFrequencies Create(float theta, int headDim, Llama3RopeScaling? scaling = null)
    {
        if (!(float.IsFinite(theta) && theta > 0)) throw new ArgumentException($"rope theta {theta} is not positive");
        if (headDim < 2) throw new ArgumentException($"head dim {headDim} has no pair to rotate");
        scaling?.Validate();
        var inverse = new float[headDim / 2];
        for (int i = 0; i < inverse.Length; i++)
        {
            float invFreq = (float)(1.0 / Math.Pow(theta, 2.0 * i / headDim));
            inverse[i] = scaling is null ? invFreq : Llama3(invFreq, scaling);
        }
        return new RopeFrequencies(inverse, headDim);
    }

    static float Llama3(float invFreq, Llama3RopeScaling s)
    {
        float context = s.OriginalMaxPositionEmbeddings;
        float lowFreqWavelength = context / s.LowFreqFactor, highFreqWavelength = context / s.HighFreqFactor;
        float wavelength = 1f / invFreq * (float)(2 * Math.PI);
        if (wavelength < highFreqWavelength) return invFreq;
        if (wavelength > lowFreqWavelength) return invFreq / s.Factor;
        float smooth = (context / wavelength - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        return (1 - smooth) * invFreq / s.Factor + smooth * invFreq;
    }

    public bool Equals(RopeFrequencies? other) =>
        other is not null && HeadDim == other.HeadDim && Inverse.AsSpan().SequenceEqual(other.Inverse);

    public override bool Equals(object? obj) => Equals(obj as RopeFrequencies);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(HeadDim);
        foreach (var f in Inverse) hash.Add(f);
        return hash.ToHashCode();
    }

    public override string ToString() => $"RoPE frequencies for head dim {HeadDim}";
}
