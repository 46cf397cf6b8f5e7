using NUnit.Framework;

namespace DrICL.Tests.Data;

/// <summary>
/// The layout rules that the model fixtures' inputs follow, checked on one sequence. Used on the fixture rows
/// (which were cut at T, so their last demonstration may be missing its EOS or its answer) and on our episodes
/// (which are never cut), to show that both follow the same conventions.
/// </summary>
static class LayoutInvariants
{
    /// <summary>Asserts the rules and returns the number of supervised demonstrations.</summary>
    public static int Check(ReadOnlySpan<int> ids, ReadOnlySpan<int> labels, ReadOnlySpan<int> demos, ReadOnlySpan<int> segments,
        ReadOnlySpan<int> positions, int bos, int eos, bool cutAtEnd)
    {
        int length = ids.Length;
        Assert.That(ids[0], Is.EqualTo(bos), "sequence starts with BOS");
        Assert.That(segments[0], Is.Zero, "BOS is in the prefix segment");
        for (int t = 0; t < length; t++)
        {
            Assert.That(positions[t], Is.EqualTo(t), $"position id at {t}");
            if (t > 0) Assert.That(segments[t] - segments[t - 1], Is.InRange(0, 1), $"segments advance one at a time at {t}");
            bool supervised = labels[t] != -100;
            Assert.That(demos[t] != 0, Is.EqualTo(supervised), $"demo id is set exactly on supervised positions ({t})");
            if (!supervised) continue;
            Assert.That(t + 1, Is.LessThan(length), "the last position has no next token to predict");
            Assert.That(labels[t], Is.EqualTo(ids[t + 1]), $"label at {t} is the next token");
            Assert.That(demos[t], Is.EqualTo(segments[t]), $"supervised position {t} lies in its demonstration's segment");
            Assert.That(segments[t + 1], Is.EqualTo(segments[t]), $"the target of {t} lies in the same demonstration");
        }

        int demoCount = 0, eosTargets = 0;
        for (int t = 0; t < length; t++)
        {
            if (demos[t] == 0 || (t > 0 && demos[t - 1] == demos[t])) continue;
            int k = demos[t], start = t, end = t;
            while (end + 1 < length && demos[end + 1] == k) end++;
            Assert.That(k, Is.EqualTo(++demoCount), $"demonstration runs are numbered 1, 2, … in order (run at {start})");
            for (int p = start; p < end; p++) Assert.That(labels[p], Is.Not.EqualTo(eos), $"answer of demonstration {k} holds no EOS");
            if (labels[end] == eos)
            {
                eosTargets++;
                Assert.That(end + 2 == length || segments[end + 2] == k + 1, Is.True, $"the EOS of demonstration {k} closes its segment");
            }
            else Assert.That(cutAtEnd && end + 2 == length, Is.True, $"demonstration {k}'s supervision ends by predicting EOS");
        }

        int eosCount = 0;
        foreach (int id in ids) if (id == eos) eosCount++;
        Assert.That(eosCount, Is.EqualTo(eosTargets), "EOS appears only after answers");
        int lastSegment = segments[length - 1];
        Assert.That(lastSegment - demoCount, Is.InRange(0, cutAtEnd ? 1 : 0), "every demonstration segment is supervised");
        return demoCount;
    }
}
