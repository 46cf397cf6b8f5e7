using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Studies.MetaLearners;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Studies.MetaLearners;

/// <summary>
/// What makes mixed − single a paired comparison: both arms start from the seed's weights (TrainingSeed), read one
/// data stream, and answer the same evaluation items.
/// </summary>
public class PairedByConstructionTests
{
    static readonly ByteTokenizer Tokenizer = new();

    [Test]
    public void TheMixturesEpisodeNIsEpisodeNOfItsFamilysSingleArm()
    {
        var arms = MetaLearnersArm.For(MetaLearnerFamily.All);
        var mixed = arms.Single(a => a.Name == MetaLearnersArm.MixedName);
        var builder = new EpisodeBuilder(Tokenizer, SyntheticSuite.Template);
        for (long n = 0; n < 12; n++)
        {
            var single = arms[(int)(n % 3)];
            Assert.That(single.Families.Single().Name, Is.EqualTo(MetaLearnerFamily.All[(int)(n % 3)].Name));
            Assert.That(mixed.Suite.TrainingEpisode(n, 7, builder, 256).InputIds, Is.EqualTo(single.Suite.TrainingEpisode(n, 7, builder, 256).InputIds), $"episode {n}");
        }
        Assert.That(arms[0].Suite.TrainingEpisode(0, 7, builder, 256).InputIds, Is.Not.EqualTo(arms[0].Suite.TrainingEpisode(0, 8, builder, 256).InputIds), "the data seed matters");
    }

    [Test]
    public void EvaluationItemsDependOnTheSeedAndItemOnly()
    {
        var family = new PrototypeFamily();
        var three = new EvaluationItems(family, 1, seeds: 3, itemsPerSeed: 5, maxShots: 16, difficulty: 1);
        var again = new EvaluationItems(family, 1, seeds: 4, itemsPerSeed: 8, maxShots: 16, difficulty: 1);
        for (int s = 0; s < 3; s++)
            for (int j = 0; j < 5; j++)
            {
                Assert.That(again.Demonstrations(s, j, 16), Is.EqualTo(three.Demonstrations(s, j, 16)));
                Assert.That(again.Query(s, j), Is.EqualTo(three.Query(s, j)));
                Assert.That(three.Demonstrations(s, j, 4), Is.EqualTo(three.Demonstrations(s, j, 16).Take(4)), "k shots are the first k");
            }
        Assert.That(three.Query(1, 0), Is.Not.EqualTo(three.Query(0, 0)));
        var builder = new EpisodeBuilder(Tokenizer, SyntheticSuite.Template);
        Assert.That(three.Episodes(0, 16, builder, 256)!.Select(e => e.DemonstrationCount), Is.All.EqualTo(17));
        Assert.That(three.Episodes(0, 16, builder, 48), Is.Null, "16 shots of 8 tokens do not fit in 48");
    }
}
