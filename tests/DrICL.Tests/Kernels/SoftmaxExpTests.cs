using System.Runtime.Intrinsics;
using DrICL.Kernels.Cpu;
using NUnit.Framework;

namespace DrICL.Tests.Kernels;

/// <summary>The softmax exp against double-precision Math.Exp over its whole domain, and at its edges.</summary>
[TestFixture]
public class SoftmaxExpTests
{
    [Test]
    public void MatchesMathExpWithinTwoUlp()
    {
        double worst = 0;
        float at = 0;
        var lanes = new float[16];
        for (float x0 = -87f; x0 <= 0; x0 += 16 * 0.0007f)
        {
            for (int i = 0; i < 16; i++) lanes[i] = MathF.Min(0, x0 + i * 0.0007f);
            var e = SoftmaxExp.Of(Vector512.Create(lanes));
            for (int i = 0; i < 16; i++)
            {
                double exact = Math.Exp(lanes[i]), err = Math.Abs(e[i] - exact) / exact;
                if (err > worst) (worst, at) = (err, lanes[i]);
            }
        }
        Assert.That(worst, Is.LessThan(2 * 1.2e-7), $"worst relative error at x = {at}");
    }

    [Test]
    public void EdgesAreExact()
    {
        var e = SoftmaxExp.Of(Vector512.Create([0f, -0f, float.NegativeInfinity, -87.5f, -1000f, float.NaN, 1f, -1f, 0, 0, 0, 0, 0, 0, 0, 0]));
        Assert.That(new[] { e[0], e[1], e[2], e[3], e[4] }, Is.EqualTo(new[] { 1f, 1f, 0f, 0f, 0f }));
        Assert.That(float.IsNaN(e[5]), Is.True, "NaN must stay NaN");
        Assert.That(e[6], Is.EqualTo(MathF.E).Within(1).Ulps);
        Assert.That(e[7], Is.EqualTo(1 / MathF.E).Within(1).Ulps);
    }
}
