using System.Text;
using DrICL.Model.Safetensors;
using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;

namespace DrICL.Tests.Robustness;

/// <summary>
/// Property-based fuzzing of every input file `dricl train` reads: a mutated safetensors header, config.json,
/// tokenizer.json or task-pool JSONL line must end in success or in a one-line error (exit 2), never an
/// unhandled exception. Fixed seed and a bounded count per file keep it deterministic and quick.
/// </summary>
#pragma warning disable NUnit1027 // the analyzer does not know that FsCheck's Property attribute supplies the argument
[Category("Robustness"), NonParallelizable]
public class InputFuzzTests
{
    const int Count = 40;
    const string Seed = "20261129,11";

    Workspace work = null!;
    string model = "", tasks = "";
    readonly Dictionary<string, byte[]> pristine = [];

    [OneTimeSetUp]
    public void Create()
    {
        work = new Workspace();
        model = work.Model();
        tasks = work.Tasks();
        foreach (var path in new[] { Weights, Config, Tokenizer, tasks }) pristine[path] = File.ReadAllBytes(path);
    }

    [OneTimeTearDown]
    public void Remove() => work.Dispose();

    string Weights => Path.Combine(model, SafetensorsCheckpoint.SingleFileName);
    string Config => Path.Combine(model, "config.json");
    string Tokenizer => Path.Combine(model, "tokenizer.json");

    [FsCheck.NUnit.Property(MaxTest = Count, Replay = Seed, Arbitrary = new[] { typeof(Mutations) })]
    public void SafetensorsHeader(Mutation m)
    {
        var bytes = pristine[Weights];
        int headerLength = (int)BitConverter.ToUInt64(bytes, 0);
        if (m.Kind == MutationKind.Truncate)
            Write(Weights, bytes[..(int)(m.At * bytes.Length)]);
        else
        {
            var header = Encoding.UTF8.GetBytes(m.Apply(Encoding.UTF8.GetString(bytes, 8, headerLength)));
            Write(Weights, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. bytes[(8 + headerLength)..]]);
        }
        Workspace.AssertSucceededOrRefused(Train());
    }

    [FsCheck.NUnit.Property(MaxTest = Count, Replay = Seed, Arbitrary = new[] { typeof(Mutations) })]
    public void ConfigJson(Mutation m) => MutateText(Config, m);

    [FsCheck.NUnit.Property(MaxTest = Count, Replay = Seed, Arbitrary = new[] { typeof(Mutations) })]
    public void TokenizerJson(Mutation m) => MutateText(Tokenizer, m);

    [FsCheck.NUnit.Property(MaxTest = Count, Replay = Seed, Arbitrary = new[] { typeof(Mutations) })]
    public void TaskPoolLine(Mutation m)
    {
        var lines = Encoding.UTF8.GetString(pristine[tasks]).Split('\n');
        int i = (int)(m.At * (lines.Length - 1));
        lines[i] = m.Apply(lines[i]);
        Write(tasks, Encoding.UTF8.GetBytes(string.Join('\n', lines)));
        Workspace.AssertSucceededOrRefused(Train());
    }

    void MutateText(string path, Mutation m)
    {
        Write(path, Encoding.UTF8.GetBytes(m.Apply(Encoding.UTF8.GetString(pristine[path]))));
        Workspace.AssertSucceededOrRefused(Train());
    }

    // Every other file back to its pristine bytes: one mutated input per case.
    void Write(string path, byte[] bytes)
    {
        foreach (var (p, b) in pristine) File.WriteAllBytes(p, b);
        File.WriteAllBytes(path, bytes);
    }

    (int, string, string) Train() => CliRunner.Run([.. work.Train(model, tasks, work.File("out"), 1, seq: 64), "--checkpoint-every", "0", "--overwrite"]);
}
#pragma warning restore NUnit1027

public enum MutationKind { Replace, Insert, Delete, Value, Truncate }

/// <summary>One edit of a text at a relative position: replace, insert or delete characters, replace a JSON value (after a ':'), or cut the rest.</summary>
public sealed record Mutation(MutationKind Kind, double At, int Length, string Payload)
{
    public string Apply(string text)
    {
        int at = Math.Min((int)(At * text.Length), text.Length);
        int end = Math.Min(text.Length, at + Length);
        switch (Kind)
        {
            case MutationKind.Replace: return text[..at] + Payload + text[end..];
            case MutationKind.Insert: return text.Insert(at, Payload);
            case MutationKind.Delete: return text[..at] + text[end..];
            case MutationKind.Truncate: return text[..at];
            default:
                int colon = text.IndexOf(':', at);
                if (colon < 0) colon = text.LastIndexOf(':');
                if (colon < 0) return Payload;
                int stop = text.IndexOfAny([',', '}', ']'], colon + 1);
                return text[..(colon + 1)] + Payload + (stop < 0 ? "" : text[stop..]);
        }
    }
}

/// <summary>Mutations biased to what breaks parsers and loaders: boundary numbers, wrong types, bad escapes, deep nesting.</summary>
public static class Mutations
{
    static readonly string[] Interesting =
    [
        "-1", "0", "1", "2147483647", "2147483648", "-2147483649", "9223372036854775807", "18446744073709551616", "1e309", "-1e309",
        "1.5", "1e-45", "NaN", "null", "true", "[]", "{}", "\"\"", "\"F64\"", "\"BOOL\"", "\"I8\"", "\"\\ud800\"", "\"\\u0000\"", ",", ":", "}",
        "]", "\"", "[1,2,3]", "[0,0]", "[-1]", "[4294967296,1]", "\"llama\"", "\"mistral\"", "\"gpt2\"", "{\"type\":\"BPE\"}", "\"WordPiece\"",
        new string('[', 80), "\"\\uDC00x\"", "\u00e9", "\uffff",
    ];

    public static Arbitrary<Mutation> Mutation() => Arb.From(
        from kind in Gen.Elements(Enum.GetValues<MutationKind>())
        from at in Gen.Choose(0, 9999).Select(i => i / 10000.0)
        from length in Gen.Choose(1, 12)
        from payload in Gen.OneOf(Gen.Elements(Interesting), ArbMap.Default.ArbFor<string>().Generator.Select(s => s ?? ""))
        select new Mutation(kind, at, length, payload));
}
