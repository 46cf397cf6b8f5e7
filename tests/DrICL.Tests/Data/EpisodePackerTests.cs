using DrICL.Training.Data;
using NUnit.Framework;

namespace DrICL.Tests.Data;

public class EpisodePackerTests
{
    static readonly ByteTokenizer Bytes = new();

    /// <summary>An episode of "I" and <paramref name="demos"/> demonstrations "|a=b": 2 + 5 × demos tokens.</summary>
    static Episode EpisodeOf(int demos)
    {
        var template = new DemonstrationTemplate("|", "=");
        var content = new EpisodeContent("I", [.. Enumerable.Range(0, demos).Select(_ => template.Render(new TaskExample("a", "b")))]);
        return new EpisodeBuilder(Bytes).Build(content, 1000);
    }

    [Test]
    public void PacksNextFitInOrderWithPaddingAndSequenceIds()
    {
        var episodes = new[] { EpisodeOf(2), EpisodeOf(1), EpisodeOf(3) }; // 12, 7 and 17 tokens
        var batch = new EpisodePacker(seqLen: 20, padId: ByteTokenizer.PadId).Pack(episodes, rows: 3);

        Assert.That(batch.EpisodeCount, Is.EqualTo(3));
        Assert.That(batch.Placements.Select(p => (p.Row, p.Start, p.SequenceId)), Is.EqualTo(new[] { (0, 0, 1), (0, 12, 2), (1, 0, 3) }));
        foreach (var placement in batch.Placements)
        {
            int at = placement.Row * batch.SeqLen + placement.Start, length = placement.Episode.Length;
            Assert.That(batch.InputIds.AsSpan(at, length).ToArray(), Is.EqualTo(placement.Episode.InputIds));
            Assert.That(batch.Labels.AsSpan(at, length).ToArray(), Is.EqualTo(placement.Episode.Labels));
            Assert.That(batch.DemoIds.AsSpan(at, length).ToArray(), Is.EqualTo(placement.Episode.DemoIds));
            Assert.That(batch.SegmentIds.AsSpan(at, length).ToArray(), Is.EqualTo(placement.Episode.SegmentIds));
            Assert.That(batch.PositionIds.AsSpan(at, length).ToArray(), Is.EqualTo(Enumerable.Range(0, length)), "positions restart per episode");
            Assert.That(batch.SequenceIds.AsSpan(at, length).ToArray(), Has.All.EqualTo(placement.SequenceId));
        }

        // Padding: the tail of row 0 (19, 20), of row 1 (17..20) and all of row 2.
        var padding = Enumerable.Range(0, batch.Rows * batch.SeqLen).Where(i => batch.SequenceIds[i] == 0).ToArray();
        Assert.That(padding, Has.Length.EqualTo(1 + 3 + 20));
        Assert.That(padding.Select(i => batch.InputIds[i]), Has.All.EqualTo(ByteTokenizer.PadId));
        Assert.That(padding.Select(i => batch.Labels[i]), Has.All.EqualTo(Episode.IgnoreLabel));
        Assert.That(padding.Select(i => batch.DemoIds[i] + batch.SegmentIds[i] + batch.PositionIds[i]), Has.All.Zero);
    }

    [Test]
    public void NoLabelCrossesFromOneEpisodeToTheNext()
    {
        var batch = new EpisodePacker(32, ByteTokenizer.PadId).Pack([EpisodeOf(2), EpisodeOf(2), EpisodeOf(1)], rows: 1);
        for (int t = 0; t < batch.SeqLen; t++)
        {
            if (batch.Labels[t] == Episode.IgnoreLabel) continue;
            Assert.That(batch.SequenceIds[t + 1], Is.EqualTo(batch.SequenceIds[t]), $"target of {t} in the same episode");
            Assert.That(batch.Labels[t], Is.EqualTo(batch.InputIds[t + 1]));
        }
        Assert.That(batch.InputIds[12], Is.EqualTo(Bytes.BosId), "the second episode starts with its own BOS");
    }

    [Test]
    public void StopsAtTheFirstEpisodeThatDoesNotFit()
    {
        var episodes = new[] { EpisodeOf(2), EpisodeOf(2), EpisodeOf(1), EpisodeOf(1) }; // 12, 12, 7, 7
        var batch = new EpisodePacker(20, ByteTokenizer.PadId).Pack(episodes, rows: 2);
        Assert.That(batch.EpisodeCount, Is.EqualTo(3), "row 0: 12; row 1: 12 + 7; the last 7 waits for the next batch");
        Assert.That(batch.Placements[^1].Episode, Is.SameAs(episodes[2]));
    }

    [Test]
    public void AnEpisodeLongerThanARowIsAnError()
    {
        var error = Assert.Throws<EpisodeTooLongException>(() => new EpisodePacker(16, ByteTokenizer.PadId).Pack([EpisodeOf(1), EpisodeOf(3)], rows: 4));
        Assert.That(error!.Message, Does.Contain("episode of 17 tokens does not fit a row of 16"));
    }
}
