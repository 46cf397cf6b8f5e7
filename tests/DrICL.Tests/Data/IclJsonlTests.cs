using DrICL.Training.Data;
using NUnit.Framework;

namespace DrICL.Tests.Data;

public class IclJsonlTests
{
    const string Good1 = """{"id": "a1", "messages": [{"role": "user", "content": "Classify.\nInput: good\n\nOutput:", "loss": 0}, {"role": "assistant", "content": "positive", "loss": 1}, {"role": "user", "content": "Input: bad\n\nOutput:", "loss": 0}, {"role": "assistant", "content": "negative", "loss": 1}], "resource": "sst2", "len": 2}""";
    const string Good2 = """{"id": 7, "messages": [{"role": "user", "content": "Q: 1+1\n\nA:", "loss": 0}, {"role": "assistant", "content": "2", "loss": 1}], "resource": "math"}""";

    static readonly string Mixed = string.Join("\n",
        Good1,                                                                                             // 1
        """{"id": "b", "messages": [""",                                                                   // 2 bad JSON
        """{"id": "c", "messages": [{"role": "system", "content": "x", "loss": 0}], "resource": "r"}""",   // 3 unknown role
        """{"id": "d", "messages": [{"role": "user", "loss": 0}], "resource": "r"}""",                     // 4 missing content
        """{"id": "e", "messages": [{"role": "user", "content": "x", "loss": 0}, {"role": "user", "content": "y", "loss": 0}], "resource": "r"}""", // 5 not alternating
        "   ",                                                                                             // 6 blank
        Good2,                                                                                             // 7
        """{"id": "f", "messages": [{"role": "user", "content": "x", "loss": 0}, {"role": "assistant", "content": "y", "loss": 0}], "resource": "r"}""", // 8 answer without loss
        """{"messages": [], "resource": "r"}""",                                                           // 9 missing id
        """{"id": "g", "messages": [{"role": "user", "content": "x", "loss": 0}], "resource": "r"}""");    // 10 user turn without answer

    [Test]
    public void ReadsRecords()
    {
        var result = IclJsonl.Read(new StringReader(Good1 + "\n" + Good2 + "\n"), "icl.jsonl", JsonlReadMode.Fatal);
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Records, Has.Count.EqualTo(2));
        var first = result.Records[0];
        Assert.That((first.Id, first.Resource, first.Len, first.Messages.Count), Is.EqualTo(("a1", "sst2", (int?)2, 4)));
        Assert.That(first.Messages[3], Is.EqualTo(new IclMessage(IclRole.Assistant, "negative")));
        Assert.That((result.Records[1].Id, result.Records[1].Len), Is.EqualTo(("7", (int?)null)));
    }

    [Test]
    public void SkipModeReportsEveryBadLineWithFileAndLine()
    {
        var result = IclJsonl.Read(new StringReader(Mixed), "icl.jsonl", JsonlReadMode.Skip);
        Assert.That(result.Records.Select(r => r.Id), Is.EqualTo(new[] { "a1", "7" }));
        Assert.That(result.Errors.Select(e => e.Line), Is.EqualTo(new[] { 2, 3, 4, 5, 8, 9, 10 }));
        Assert.That(result.Errors.Select(e => e.ToString()), Has.All.StartWith("icl.jsonl:"));
        Assert.That(result.Errors[0].ToString(), Does.StartWith("icl.jsonl:2: invalid JSON"));
        Assert.That(result.Errors[1].Message, Does.Contain("unknown role \"system\""));
        Assert.That(result.Errors[2].Message, Does.Contain("messages[0]").And.Contain("missing field \"content\""));
        Assert.That(result.Errors[3].Message, Does.Contain("messages[1].role is \"user\"").And.Contain("alternate"));
        Assert.That(result.Errors[4].Message, Does.Contain("loss 0"));
        Assert.That(result.Errors[5].Message, Does.Contain("missing field \"id\""));
        Assert.That(result.Errors[6].Message, Does.Contain("without an assistant answer"));
        Assert.That(result.ErrorReport(), Does.StartWith("7 malformed line(s):\nicl.jsonl:2: "));
    }

    [Test]
    public void FatalModeThrowsAtTheFirstBadLine()
    {
        var error = Assert.Throws<JsonlFormatException>(() => IclJsonl.Read(new StringReader(Mixed), "icl.jsonl", JsonlReadMode.Fatal));
        Assert.That(error!.Error.Line, Is.EqualTo(2));
        Assert.That(error.Message, Does.StartWith("icl.jsonl:2: invalid JSON"));
    }

    [Test]
    public void WriteThenReadGivesTheSameRecords()
    {
        var records = IclJsonl.Read(new StringReader(Good1 + "\n" + Good2), "in.jsonl", JsonlReadMode.Fatal).Records;
        string path = Path.Combine(Path.GetTempPath(), $"dricl-icl-{Guid.NewGuid():N}.jsonl");
        try
        {
            IclJsonl.Write(path, records);
            var reread = IclJsonl.Read(path, JsonlReadMode.Fatal).Records;
            Assert.That(reread, Has.Count.EqualTo(2));
            for (int i = 0; i < 2; i++)
            {
                Assert.That(reread[i] with { Messages = records[i].Messages }, Is.EqualTo(records[i]));
                Assert.That(reread[i].Messages, Is.EqualTo(records[i].Messages));
            }
            Assert.That(File.ReadAllLines(path), Has.Length.EqualTo(2));
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void FileErrorsNameThePathGiven()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dricl-icl-{Guid.NewGuid():N}.jsonl");
        try
        {
            File.WriteAllText(path, Good1 + "\n{not json}\n");
            var error = Assert.Throws<JsonlFormatException>(() => IclJsonl.Read(path, JsonlReadMode.Fatal));
            Assert.That(error!.Message, Does.StartWith(path + ":2: "));
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void WriterRefusesMalformedRecords()
    {
        var record = new IclRecord("x", [new IclMessage(IclRole.Assistant, "y")], "r", null);
        Assert.Throws<ArgumentException>(() => IclJsonl.Write(new StringWriter(), [record]));
    }

    [Test]
    public void EpisodeContentSplitsTheInstructionOffTheFirstTurn()
    {
        var record = IclJsonl.Read(new StringReader(Good1), "icl.jsonl", JsonlReadMode.Fatal).Records[0];
        var content = record.ToEpisodeContent();
        Assert.That(content.Instruction, Is.EqualTo("Classify.\n"));
        Assert.That(content.Demonstrations, Is.EqualTo(new[]
        {
            new Demonstration("Input: good\n\nOutput: ", "positive"),
            new Demonstration("\n\nInput: bad\n\nOutput: ", "negative"),
        }));
    }

    [Test]
    public void EpisodeContentKeepsTheFirstTurnWhole_WhenNoMarkerIsShared()
    {
        var record = new IclRecord("x", [
            new IclMessage(IclRole.User, "Say hi.\nText: a\n"), new IclMessage(IclRole.Assistant, "hi"),
            new IclMessage(IclRole.User, "Words: b\n"), new IclMessage(IclRole.Assistant, " ho")], "r", null);
        var content = record.ToEpisodeContent(turnSeparator: "");
        Assert.That(content.Instruction, Is.Empty);
        Assert.That(content.Demonstrations[0], Is.EqualTo(new Demonstration("Say hi.\nText: a\n", "hi")), "no joining space after whitespace");
        Assert.That(content.Demonstrations[1], Is.EqualTo(new Demonstration("Words: b\n", " ho")));
    }
}
