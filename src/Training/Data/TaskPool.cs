using DrICL.Model;
using System.Text.Json;

namespace DrICL.Training.Data;

public sealed record TaskExample(string Input, string Output);

/// <summary>
/// One task of a pool: a unique name, the instruction written once before the demonstrations (may be empty),
/// its kind (a free lowercase word that tells evaluation how to score: "classification", "qa",
/// "summarization", "reasoning", …) and its examples.
/// </summary>
public sealed record IclTask(string Name, string Instruction, string Kind, IReadOnlyList<TaskExample> Examples)
{
    /// <summary>Null when the task is usable: non-empty name and kind, at least one example, every output non-empty (an answer to supervise).</summary>
    public string? ContentProblem()
    {
        if (Name.Length == 0) return "\"name\" is empty";
        if (Kind.Length == 0) return "\"kind\" is empty";
        if (Examples.Count == 0) return "\"examples\" is empty";
        for (int i = 0; i < Examples.Count; i++)
            if (Examples[i].Output.Length == 0) return $"examples[{i}].output is empty";
        return null;
    }

    /// <summary>
    /// Seeded train/test split, disjoint by content: examples with the same input always land on the same side,
    /// so no test query appears among the demonstrations. The distinct inputs are shuffled with SplitMix64 seeded by
    /// (<paramref name="seed"/>, task name) and the first round(<paramref name="testFraction"/> × distinct inputs),
    /// at least one and leaving at least one, go to test. Both sides keep the pool's order.
    /// </summary>
    public TaskSplit Split(double testFraction, ulong seed)
    {
        if (!(testFraction > 0 && testFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), $"test fraction must be in (0, 1), got {testFraction}");
        var groupOfInput = new Dictionary<string, int>(StringComparer.Ordinal);
        var groupOfExample = new int[Examples.Count];
        for (int i = 0; i < Examples.Count; i++)
        {
            if (!groupOfInput.TryGetValue(Examples[i].Input, out int group))
                groupOfInput.Add(Examples[i].Input, group = groupOfInput.Count);
            groupOfExample[i] = group;
        }
        int groupCount = groupOfInput.Count;
        if (groupCount < 2)
            throw new InvalidOperationException($"task {Name}: a train/test split needs at least 2 distinct inputs, it has {groupCount}");
        int testGroups = Math.Clamp((int)Math.Round(testFraction * groupCount, MidpointRounding.AwayFromZero), 1, groupCount - 1);

        var order = new int[groupCount];
        for (int g = 0; g < groupCount; g++) order[g] = g;
        new SplitMix64(SplitMix64.DeriveSeed(seed, Name)).Shuffle(order.AsSpan());
        var isTest = new bool[groupCount];
        for (int i = 0; i < testGroups; i++) isTest[order[i]] = true;

        var train = new List<TaskExample>();
        var test = new List<TaskExample>();
        for (int i = 0; i < Examples.Count; i++) (isTest[groupOfExample[i]] ? test : train).Add(Examples[i]);
        return new TaskSplit(this, train, test);
    }
}

/// <summary>A task with its examples divided into demonstration (train) and query (test) examples.</summary>
public sealed record TaskSplit(IclTask Task, IReadOnlyList<TaskExample> Train, IReadOnlyList<TaskExample> Test);

/// <summary>
/// Task pools as JSONL, one task per line:
/// <c>{"name": …, "instruction": …, "kind": …, "examples": [{"input": …, "output": …}, …]}</c>.
/// All fields are required, the content must pass <see cref="IclTask.ContentProblem"/>, and names must be unique
/// within a file. Other fields are ignored.
/// </summary>
public static class TaskPool
{
    public static JsonlReadResult<IclTask> Read(string path, JsonlReadMode mode) => JsonlFile.Read(path, mode, UniqueNameParser());

    public static JsonlReadResult<IclTask> Read(TextReader reader, string fileName, JsonlReadMode mode) =>
        JsonlFile.Read(reader, fileName, mode, UniqueNameParser());

    public static void Write(string path, IEnumerable<IclTask> tasks) => JsonlFile.Write(path, tasks, WriteTask);

    public static void Write(TextWriter writer, IEnumerable<IclTask> tasks) => JsonlFile.Write(writer, tasks, WriteTask);

    /// <summary>A parser for one file: remembers the line of each name to report duplicates.</summary>
    static Func<JsonElement, int, IclTask> UniqueNameParser()
    {
        var lineOfName = new Dictionary<string, int>(StringComparer.Ordinal);
        return (root, line) =>
        {
            var task = Parse(root);
            if (lineOfName.TryGetValue(task.Name, out int first))
                throw new JsonRecordException($"task {task.Name}: duplicate name (first defined on line {first})");
            lineOfName.Add(task.Name, line);
            return task;
        };
    }

    static IclTask Parse(JsonElement root)
    {
        JsonFields.Object(root, "task");
        string name = JsonFields.String(root, "name", "task");
        string where = $"task {name}";
        string instruction = JsonFields.String(root, "instruction", where);
        string kind = JsonFields.String(root, "kind", where);
        var examples = new List<TaskExample>();
        foreach (var element in JsonFields.Array(root, "examples", where).EnumerateArray())
        {
            string at = $"{where}: examples[{examples.Count}]";
            JsonFields.Object(element, at);
            examples.Add(new TaskExample(JsonFields.String(element, "input", at), JsonFields.String(element, "output", at)));
        }
        var task = new IclTask(name, instruction, kind, examples);
        if (task.ContentProblem() is { } problem) throw new JsonRecordException($"{where}: {problem}");
        return task;
    }

    static void WriteTask(Utf8JsonWriter json, IclTask task)
    {
        if (task.ContentProblem() is { } problem) throw new ArgumentException($"cannot write task {task.Name}: {problem}");
        json.WriteStartObject();
        json.WriteString("name", task.Name);
        json.WriteString("instruction", task.Instruction);
        json.WriteString("kind", task.Kind);
        json.WriteStartArray("examples");
        foreach (var example in task.Examples)
        {
            json.WriteStartObject();
            json.WriteString("input", example.Input);
            json.WriteString("output", example.Output);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
