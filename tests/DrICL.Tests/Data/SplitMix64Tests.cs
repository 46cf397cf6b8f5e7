using DrICL.Model;
using DrICL.Training.Data;
using NUnit.Framework;

namespace DrICL.Tests.Data;

/// <summary>Pinned against an independent Python implementation, so a change of stream shows up as a failure.</summary>
public class SplitMix64Tests
{
    [Test]
    public void MatchesTheReferenceSequence()
    {
        var random = new SplitMix64(0);
        Assert.That(new[] { random.NextUInt64(), random.NextUInt64(), random.NextUInt64() },
            Is.EqualTo(new[] { 0xE220A8397B1DCDAFUL, 0x6E789E6AA1B965F4UL, 0x06C45D188009454FUL }));
    }

    [Test]
    public void NextIntIsPinned()
    {
        var random = new SplitMix64(42);
        Assert.That(Enumerable.Range(0, 8).Select(_ => random.NextInt(10)), Is.EqualTo(new[] { 7, 1, 2, 3, 0, 8, 2, 8 }));
    }

    [Test]
    public void SampleWithoutReplacementIsPinnedAndDistinct()
    {
        Assert.That(new SplitMix64(123).SampleWithoutReplacement(10, 4), Is.EqualTo(new[] { 7, 9, 8, 0 }));
        var all = new SplitMix64(9).SampleWithoutReplacement(50, 50);
        Assert.That(all, Is.Unique.And.Length.EqualTo(50).And.All.InRange(0, 49));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SplitMix64(1).SampleWithoutReplacement(3, 4));
    }

    [Test]
    public void DerivedSeedsArePinnedAndDependOnTheName()
    {
        Assert.That(SplitMix64.DeriveSeed(7, "sentiment"), Is.EqualTo(0x0C11324E3C0908D1UL));
        Assert.That(SplitMix64.DeriveSeed(7, "sentiment"), Is.Not.EqualTo(SplitMix64.DeriveSeed(7, "sentimenu")));
    }
}
