using System.CommandLine;
using System.Text.Json.Nodes;
using DrICL.Model;
using DrICL.Model.Tokenization;
using DrICL.Training.Data;
using DrICL.Training.Evaluation;

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
        var tokenizer = new Option<FileInfo?>("--tokenizer") { Description = "tokenizer.json (default: the model folder's)" };
        var tasks = new Option<FileInfo>("--tasks") { Description = "task pool JSONL", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "where results.json and report.html go", Required = true };
        var shots = new Option<string>("--k") { DefaultValueFactory = _ => string.Join(",", DefaultShots), Description = "shots to evaluate; those that do not fit --seq are dropped" };
        var seeds = new Option<int>("--seeds") { DefaultValueFactory = _ => 3, Description = "demonstration samplings per k" };
        var queries = new Option<int>("--queries") { DefaultValueFactory = _ => 8, Description = "held-out queries per seed" };
        var seq = new Option<int>("--seq") { DefaultValueFactory = _ => 4096, Description = "context length" };
        var maxAnswer = new Option<int>("--max-answer-tokens") { DefaultValueFactory = _ => 32 };
        var name = new Option<string>("--name") { DefaultValueFactory = _ => "model", Description = "the curve's name in the results" };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 0UL, Description = "train/test split seed" };
        var device = new DeviceOption();
        var command = new Command("eval", "k-shot evaluation curve on task pools") { model, tokenizer, tasks, output, shots, seeds, queries, seq, maxAnswer, name, seed };
        device.AddTo(command);
        var profile = new ProfileOption();
        profile.AddTo(command);
        command.SetAction(parse => CliError.Guard(parse, console =>
        {
            var folder = parse.GetValue(model)!.FullName;
            var tok = TrainCommand.LoadTokenizer(parse.GetValue(tokenizer)?.FullName ?? Path.Combine(folder, "tokenizer.json"));
            var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
            TrainCommand.CheckCompatible(config, tok, folder);
            var splits = TrainCommand.ReadTaskSplits(parse.GetValue(tasks)!.FullName, JsonlReadMode.Fatal, parse.GetValue(seed), console);
            using var dev = profile.Wrap(parse, device.Open(parse), console);
            var net = ModelLoader.LoadFolder(folder, dev);
            int queriesPerSeed = parse.GetValue(queries), context = parse.GetValue(seq);
            var evalTasks = splits.Select(s => Task(s, tok.Tokenizer, queriesPerSeed, context)).ToList();
            var ks = IntListOption.Parse(parse.GetValue(shots)!, "--k");
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

    static EvalTask Task(TaskSplit split, ITokenizer tokenizer, int queriesPerSeed, int seq)
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
