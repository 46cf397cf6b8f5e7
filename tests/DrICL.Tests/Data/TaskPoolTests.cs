using DrICL.Training.Data;
using NUnit.Framework;

namespace DrICL.Tests.Data;

public class TaskPoolTests
{
    static IclTask Sentiment(int count) => new("sentiment", "Classify the review.", "classification",
        [.. Enumerable.Range(0, count).Select(i => new TaskExample($"x{i}", i % 2 == 0 ? "positive" : "negative"))]);

    [Test]
    public void WriteThenReadGivesTheSameTasks()
    {
        var tasks = new[] { Sentiment(5), new IclTask("echo", "", "generation", [new TaskExample("", "é 中 😀\n\"q\"")]) };
        var writer = new StringWriter();
        TaskPool.Write(writer, tasks);
        var result = TaskPool.Read(new StringReader(writer.ToString()), "pool.jsonl", JsonlReadMode.Fatal);
        Assert.That(result.Records, Has.Count.EqualTo(2));
        for (int i = 0; i < 2; i++)
        {
            Assert.That(result.Records[i] with { Examples = tasks[i].Examples }, Is.EqualTo(tasks[i]));
            Assert.That(result.Records[i].Examples, Is.EqualTo(tasks[i].Examples));
        }
        Assert.That(writer.ToString(), Does.Contain("中"), "non-ASCII text stays readable");
    }

    [Test]
    public void BadLinesAreReportedWithFileAndLine()
    {
        var writer = new StringWriter();
        TaskPool.Write(writer, [Sentiment(3)]);
        string text = string.Join("\n",
            writer.ToString().TrimEnd('\n'),                                                               // 1
            """{"name": "t2", "kind": "qa", "examples": [{"input": "a", "output": "b"}]}""",               // 2 no instruction
            """{"name": "t3", "instruction": "", "kind": "qa", "examples": []}""",                         // 3 no examples
            """{"name": "t4", "instruction": "", "kind": "qa", "examples": [{"input": "a", "output": ""}]}""", // 4 empty output
            writer.ToString().TrimEnd('\n'),                                                               // 5 duplicate name
            """{"name": "t6", "instruction": "", "kind": 3, "examples": [{"input": "a", "output": "b"}]}""", // 6 kind not a string
            "[1, 2]");                                                                                     // 7 not an object

        var skipped = TaskPool.Read(new StringReader(text), "pool.jsonl", JsonlReadMode.Skip);
        Assert.That(skipped.Records.Select(t => t.Name), Is.EqualTo(new[] { "sentiment" }));
        Assert.That(skipped.Errors.Select(e => e.Line), Is.EqualTo(new[] { 2, 3, 4, 5, 6, 7 }));
        Assert.That(skipped.Errors.Select(e => e.ToString()), Is.EqualTo(new[]
        {
            "pool.jsonl:2: task t2: missing field \"instruction\"",
            "pool.jsonl:3: task t3: \"examples\" is empty",
            "pool.jsonl:4: task t4: examples[0].output is empty",
            "pool.jsonl:5: task sentiment: duplicate name (first defined on line 1)",
            "pool.jsonl:6: task t6: field \"kind\" must be a string, got 3",
            "pool.jsonl:7: task: expected an object, got an array",
        }));

        var error = Assert.Throws<JsonlFormatException>(() => TaskPool.Read(new StringReader(text), "pool.jsonl", JsonlReadMode.Fatal));
        Assert.That(error!.Message, Is.EqualTo("pool.jsonl:2: task t2: missing field \"instruction\""));
    }

    [Test]
    public void SplitIsDisjointCompleteAndPinned()
    {
        var split = Sentiment(10).Split(0.3, seed: 7);
        Assert.That(split.Test.Select(e => e.Input), Is.EqualTo(new[] { "x1", "x4", "x6" }), "pinned against the Python reference");
        Assert.That(split.Train.Select(e => e.Input).Intersect(split.Test.Select(e => e.Input)), Is.Empty);
        Assert.That(split.Train.Concat(split.Test).Select(e => e.Input), Is.EquivalentTo(Sentiment(10).Examples.Select(e => e.Input)));
    }

    [Test]
    public void SplitIsDeterministicAndDependsOnTheSeed()
    {
        var task = Sentiment(40);
        var inputs = (ulong seed) => task.Split(0.25, seed).Test.Select(e => e.Input).ToArray();
        var first = inputs(1);
        Assert.That(inputs(1), Is.EqualTo(first));
        Assert.That(inputs(2), Is.Not.EqualTo(first));
        Assert.That(first, Has.Length.EqualTo(10));
    }

    [Test]
    public void DuplicateInputsNeverStraddleTheSplit()
    {
        var examples = Enumerable.Range(0, 30).Select(i => new TaskExample($"q{i % 6}", $"a{i}")).ToArray();
        var task = new IclTask("dup", "", "qa", examples);
        for (ulong seed = 0; seed < 20; seed++)
        {
            var split = task.Split(0.5, seed);
            Assert.That(split.Train.Select(e => e.Input).Intersect(split.Test.Select(e => e.Input)), Is.Empty);
            Assert.That(split.Test, Has.Count.EqualTo(15), "3 of 6 distinct inputs, 5 copies each");
        }
    }

    [Test]
    public void SplitNeedsTwoDistinctInputsAndAProperFraction()
    {
        var single = new IclTask("one", "", "qa", [new TaskExample("a", "b"), new TaskExample("a", "c")]);
        Assert.Throws<InvalidOperationException>(() => single.Split(0.5, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sentiment(4).Split(1.0, 1));
        Assert.That(Sentiment(4).Split(0.01, 1).Test, Has.Count.EqualTo(1), "at least one test example");
        Assert.That(Sentiment(4).Split(0.99, 1).Train, Has.Count.EqualTo(1), "at least one train example");
    }
}
