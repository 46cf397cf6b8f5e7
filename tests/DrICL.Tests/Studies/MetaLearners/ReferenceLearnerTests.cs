using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Studies.MetaLearners;
using DrICL.Training.Synthetic;
using NUnit.Framework;

namespace DrICL.Tests.Studies.MetaLearners;

public class ReferenceLearnerTests
{
    static double Accuracy(ISyntheticFamily family, Func<IReadOnlyList<TaskExample>, string, string> learner, int difficulty, int shots) =>
        Enumerable.Range(0, 200).Average(seed =>
        {
            var task = family.Sample(new SplitMix64((ulong)seed), Split.Test, difficulty, shots, SyntheticSuite.QueriesPerLatent);
            return task.Queries.Average(q => learner(task.Task.Examples, q.Input) == q.Output ? 1.0 : 0.0);
        });

    static IEnumerable<TestCaseData> Learners() =>
    [
        new TestCaseData(new PairMetricFamily(), (Func<IReadOnlyList<TaskExample>, string, string>)NearestPairLearner.Answer).SetArgDisplayNames("nearest pair"),
        new TestCaseData(new PrototypeFamily(), (Func<IReadOnlyList<TaskExample>, string, string>)ClassMeansLearner.Answer).SetArgDisplayNames("class means"),
    ];

    /// <summary>Both learners improve steadily with shots at every difficulty: 1 → 4 → 32.</summary>
    [TestCaseSource(nameof(Learners))]
    public void AccuracyRisesWithShots(ISyntheticFamily family, Func<IReadOnlyList<TaskExample>, string, string> learner)
    {
        for (int difficulty = 0; difficulty <= SyntheticSuite.MaxDifficulty; difficulty++)
        {
            double one = Accuracy(family, learner, difficulty, 1), four = Accuracy(family, learner, difficulty, 4), many = Accuracy(family, learner, difficulty, 32);
            Assert.That(four, Is.GreaterThan(one + 0.05), $"difficulty {difficulty}: 1 shot {one:F3}, 4 shots {four:F3}");
            Assert.That(many, Is.GreaterThan(four + 0.05), $"difficulty {difficulty}: 4 shots {four:F3}, 32 shots {many:F3}");
        }
    }

    [Test]
    public void TheNearestPairComparesDistanceVectorsAndVotesAmongTies()
    {
        TaskExample[] demonstrations = [new("00 03", "n"), new("11 11", "y"), new("22 22", "y"), new("30 30", "n")];
        // "12 12" has distances (0,0): it sits at 0 from both "11 11" and "22 22" (both y) and from "30 30" (n): 2 to 1.
        Assert.That(NearestPairLearner.Answer(demonstrations, "12 12"), Is.EqualTo("y"));
        Assert.That(NearestPairLearner.Answer(demonstrations, "20 23"), Is.EqualTo("n"), "distances (0,3) as in 00 03");
        Assert.That(NearestPairLearner.Answer([new("01 00", "n"), new("10 10", "y")], "02 02"), Is.EqualTo("y"), "(0,0) is 0 from (0,0), 1 from (0,1)");
        Assert.That(NearestPairLearner.Answer([new("01 00", "n"), new("12 13", "y")], "33 33"), Is.EqualTo("n"), "a tie between labels goes to the earlier");
        Assert.That(NearestPairLearner.Answer([], "33 33"), Is.EqualTo("n"));
    }

    [Test]
    public void ClassMeansTakeTheNearestMeanNotTheNearestExample()
    {
        // A's mean is (7/3, 8/3, 3), 16.6 from 555 in squared distance; B's is 6.5 on every digit, 6.75 away. The
        // nearest single example, though, is A's 556.
        TaskExample[] demonstrations = [new("111", "A"), new("112", "A"), new("556", "A"), new("666", "B"), new("777", "B")];
        Assert.That(ClassMeansLearner.Answer(demonstrations, "555"), Is.EqualTo("B"));
        Assert.That(ClassMeansLearner.Answer([new("222", "B"), new("888", "A")], "555"), Is.EqualTo("A"), "a tie goes to the earlier letter");
        Assert.That(ClassMeansLearner.Answer([], "555"), Is.EqualTo("A"));
    }
}
