using DrICL.Kernels;
using NUnit.Framework;

namespace DrICL.Tests.Kernels;

public class RopeFrequenciesTests
{
    [Test]
    public void PlainFrequenciesAreThetaToTheMinusTwoIOverD()
    {
        var f = RopeFrequencies.Create(10000f, 8);
        Assert.That(f.HeadDim, Is.EqualTo(8));
        Assert.That(f.Inverse, Is.EqualTo(new[] { 1f, 0.1f, 0.01f, 0.001f }).Within(1e-7f));
    }

    // The tiny-llama3-scaled fixture's scaling: L = 64, so wavelengths under 16 are kept, over 64 divided by 8.
    [Test]
    public void Llama3KeepsHighFrequenciesDividesLowOnesAndBlendsBetween()
    {
        var scaling = new Llama3RopeScaling(Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 64);
        var plain = RopeFrequencies.Create(500000f, 16).Inverse;
        var scaled = RopeFrequencies.Create(500000f, 16, scaling).Inverse;
        double Wavelength(int i) => 2 * Math.PI / plain[i];

        int kept = 0, divided = 0, blended = 0;
        for (int i = 0; i < plain.Length; i++)
        {
            if (Wavelength(i) < 16) { Assert.That(scaled[i], Is.EqualTo(plain[i]), $"pair {i}"); kept++; }
            else if (Wavelength(i) > 64) { Assert.That(scaled[i], Is.EqualTo(plain[i] / 8).Within(1e-6).Percent, $"pair {i}"); divided++; }
            else
            {
                double s = (64 / Wavelength(i) - 1) / (4 - 1);
                Assert.That(scaled[i], Is.EqualTo((1 - s) * plain[i] / 8 + s * plain[i]).Within(1e-4).Percent, $"pair {i}");
                blended++;
            }
        }
        Assert.That((kept, blended, divided), Is.EqualTo((1, 1, 6)));
    }

    [Test]
    public void EqualWhenEveryFrequencyIsEqual()
    {
        RopeFrequencies a = RopeFrequencies.Create(10000f, 64), b = RopeFrequencies.Create(10000f, 64);
        Assert.That(a, Is.Not.SameAs(b));
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        Assert.That(a, Is.Not.EqualTo(RopeFrequencies.Create(500000f, 64)));
        Assert.That(a, Is.Not.EqualTo(RopeFrequencies.Create(10000f, 64, new Llama3RopeScaling(8, 1, 4, 64))));
    }

    [Test]
    public void RejectsWhatCannotRotate()
    {
        Assert.That(() => RopeFrequencies.Create(0f, 8), Throws.ArgumentException.With.Message.Contains("theta 0 is not positive"));
        Assert.That(() => RopeFrequencies.Create(1e4f, 1), Throws.ArgumentException.With.Message.Contains("head dim 1"));
        Assert.That(() => RopeFrequencies.Create(1e4f, 8, new Llama3RopeScaling(0, 1, 4, 64)), Throws.ArgumentException.With.Message.Contains("factor 0"));
        Assert.That(() => DrICL.Kernels.Cpu.Rope.Reference(new float[16], [0], 1, 1, 1, 16, RopeFrequencies.Create(1e4f, 8), false),
            Throws.ArgumentException.With.Message.Contains("cannot rotate heads of 16"));
    }
}
