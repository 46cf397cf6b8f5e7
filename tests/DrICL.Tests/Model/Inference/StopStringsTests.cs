using DrICL.Model.Inference;
using NUnit.Framework;

namespace DrICL.Tests.Model.Inference;

public class StopStringsTests
{
    [Test]
    public void HoldsBackAPossibleStartAndCutsAtTheStop()
    {
        var stops = new StopStrings(["\nUser:", "###"]);
        Assert.That(stops.Push("Hello"), Is.EqualTo("Hello"));
        Assert.That(stops.Push(" there\nUs"), Is.EqualTo(" there"), "\\nUs may begin a stop string");
        Assert.That(stops.Push("ually"), Is.EqualTo("\nUsually"), "it did not");
        Assert.That(stops.Push(" #"), Is.EqualTo(" "));
        Assert.That(stops.Push("## and more"), Is.EqualTo(""));
        Assert.That(stops.Stopped, Is.True);
        Assert.That(stops.Push("later"), Is.EqualTo(""));
    }

    [Test]
    public void FlushReturnsTheHeldTailWhenNoStopCame()
    {
        var stops = new StopStrings(["END"]);
        Assert.That(stops.Push("the EN"), Is.EqualTo("the "));
        Assert.That(stops.Flush(), Is.EqualTo("EN"));
        Assert.That(stops.Stopped, Is.False);
    }
}
