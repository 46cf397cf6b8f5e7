namespace DrICL.Kernels;

/// <summary>
/// Llama 3's RoPE scaling (config.json <c>rope_scaling</c> with <c>rope_type: "llama3"</c>): frequencies whose
/// wavelength exceeds the original context are slowed by Factor, short ones are kept, and a band between is blended.
/// </summary>
public sealed record Llama3RopeScaling(float Factor, float LowFreqFactor, float HighFreqFactor, int OriginalMaxPositionEmbeddings)
{
    /// <summary>Throws ArgumentException naming the first field that cannot describe a scaling.</summary>
    public void Validate()
    {
        static void Require(bool ok, string problem) { if (!ok) throw new ArgumentException(problem); }
        Require(float.IsFinite(Factor) && Factor > 0, $"rope_scaling factor {Factor} is not positive");
        Require(float.IsFinite(LowFreqFactor) && LowFreqFactor > 0, $"rope_scaling low_freq_factor {LowFreqFactor} is not positive");
        Require(float.IsFinite(HighFreqFactor) && HighFreqFactor > LowFreqFactor,
            $"rope_scaling high_freq_factor {HighFreqFactor} is not above low_freq_factor {LowFreqFactor}");
        Require(OriginalMaxPositionEmbeddings > 0, $"rope_scaling original_max_position_embeddings {OriginalMaxPositionEmbeddings} is not positive");
    }
}
