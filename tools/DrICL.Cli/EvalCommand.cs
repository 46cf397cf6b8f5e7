using System.CommandLine;
using System.Text.Json.Nodes;
using DrICL.Model;
using DrICL.Model.Tokenization;
using DrICL.Training.Data;
using DrICL.Training.Evaluation;
using Microsoft.ML.Tokenizers;

namespace DrICL.Cli;

/// <summary>
/// `dricl eval`: the k-shot curve of a Hugging Face model folder on task pools. For every task, k and seed,
/// k demonstrations from the task's train split precede a held-out query from its test split; the greedy
/// answer is scored (exact match; ROUGE-L for summarization, BLEU for translation). Writes results.json and
/// report.html under --out.
/// </summary>
public static class EvalCommand
{
    public static readonly int[] DefaultShots = [0, 1, 3, 5, 10, 20, 50, 100];

    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Hugging Face model folder", Required = true };
        var tokenizer = new Option<FileInfo?>("--tokenizer") { Description = "tokenizer.json or tokenizer.model (default: the model folder's tokenizer.json, else its tokenizer.model)" };
        var tasks = new Option<FileInfo>("--tasks") { Description = "task pool JSONL", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "where results.json and report.html go", Required = true };
        var shots = IntListOption.Create("--k", DefaultShots, 0, 100_000, "shots to evaluate; those that do not fit --seq are dropped");
        var seeds = BoundedOption.Create("--seeds", 3, 1, 10_000, "demonstration samplings per k");
        var queries = BoundedOption.Create("--queries", 8, 1, 1_000_000, "held-out queries per seed");
        var seq = BoundedOption.Create("--seq", 4096, 2, 1 << 20, "context length (at most the model's max_position_embeddings)");
        var maxAnswer = BoundedOption.Create("--max-answer-tokens", 32, 1, 65_536, "most generated tokens per answer");
        var name = new Option<string>("--name") { DefaultValueFactory = _ => "model", Description = "the curve's name in the results" };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 0UL, Description = "train/test split seed" };
        var allowNonFinite = AllowNonFiniteOption.Create();
        var device = new DeviceOption();
        var command = new Command("eval", "k-shot evaluation curve on task pools") { model, tokenizer, tasks, output, shots, seeds, queries, seq, maxAnswer, name, seed, allowNonFinite };
        device.AddTo(command);
        var profile = new ProfileOption();
        profile.AddTo(command);
        command.SetAction(parse => CliError.Guard(parse, console =>
        {
            var folder = parse.GetValue(model)!.FullName;
            var tok = TrainCommand.LoadTokenizer(parse.GetValue(tokenizer)?.FullName ?? folder);
            var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
            TrainCommand.CheckCompatible(config, tok, folder);
            TrainCommand.CheckContext(config, parse.GetValue(seq), folder);
            var splits = TrainCommand.ReadTaskSplits(parse.GetValue(tasks)!.FullName, JsonlReadMode.Fatal, parse.GetValue(seed), console);
            using var dev = profile.Wrap(parse, device.Open(parse), console);
            var net = ModelLoader.LoadFolder(folder, dev, parse.GetValue(allowNonFinite));
            int queriesPerSeed = parse.GetValue(queries), context = parse.GetValue(seq);
            var evalTasks = splits.Select(s => Task(s, tok.Tokenizer, queriesPerSeed, context)).ToList();
            var ks = parse.GetValue(shots)!;
            console.WriteLine($"evaluating {evalTasks.Count} tasks at k = {string.Join(",", ks)} (each up to what fits), {parse.GetValue(seeds)} seeds x {queriesPerSeed} queries");
            var results = new KShotResults();
            var reached = KShotEvaluator.Run(net, tok.Tokenizer, parse.GetValue(name)!, evalTasks, ks, parse.GetValue(seeds), queriesPerSeed, parse.GetValue(maxAnswer), results);
            foreach (var (task, k) in reached) console.WriteLine($"  {task}: up to k={k}");
            var report = results.Summarize(new JsonObject
            {
                ["model"] = folder,
                ["metrics"] = new JsonObject(evalTasks.Select(t => KeyValuePair.Create(t.Name, (JsonNode?)Metrics.Name(t.Metric)))),
            });
            string outDir = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(outDir);
            File.WriteAllText(Path.Combine(outDir, "results.json"), report.ToJson());
            HtmlReport.Write(Path.Combine(outDir, "report.html"), report, $"k-shot evaluation of {Path.GetFileName(folder)}", $"Tasks from {parse.GetValue(tasks)!.FullName}.");
            foreach (var (objective, curve) in report.Objectives)
                console.WriteLine($"{objective}: " + string.Join("  ", curve.K.Select((k, i) => $"k={k}: {curve.Average.Mean[i]:F3}")));
            console.WriteLine($"wrote {Path.Combine(outDir, "results.json")} and report.html");
            return 0;
        }));
        return command;
    }

    public static Metric MetricFor(string kind) => kind switch
    {
        "summarization" => Metric.RougeL,
        "translation" => Metric.Bleu,
        _ => Metric.ExactMatch,
    };

    static EvalTask Task(TaskSplit split, Tokenizer tokenizer, int queriesPerSeed, int seq)
    {
        var builder = new EpisodeBuilder(tokenizer);
        return new EvalTask(split.Task.Name, MetricFor(split.Task.Kind), (k, seed, q) =>
        {
            var query = split.Test[(seed * queriesPerSeed + q) % split.Test.Count];
            var rng = new SplitMix64(SplitMix64.DeriveSeed((ulong)seed, $"{split.Task.Name} k={k} q={q}"));
            // Asking for more demonstrations than the train split holds gives fewer, which ends the task's curve like a full context.
            return builder.SampleEvaluation(split.Task, split.Train, Math.Min(k, split.Train.Count), query, rng, seq);
        });
    }
}
