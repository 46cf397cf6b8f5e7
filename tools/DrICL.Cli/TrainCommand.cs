using System.CommandLine;
using DrICL.Kernels;
using DrICL.Model;
using DrICL.Model.Tokenization;
using DrICL.Training;
using DrICL.Training.Data;
using DrICL.Training.Objectives;

namespace DrICL.Cli;

/// <summary>
/// `dricl train`: fine-tune a Hugging Face Llama/Mistral folder on ICL-50 JSONL or task pools with IT,
/// MetaICL or DrICL. Writes checkpoint.safetensors (resumable), metrics.jsonl, and at the end a Hugging Face
/// folder (config.json, model.safetensors, tokenizer.json) under --out.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Hugging Face model folder (config.json, safetensors, tokenizer.json)", Required = true };
        var tokenizer = new Option<FileInfo?>("--tokenizer") { Description = "tokenizer.json (default: the model folder's)" };
        var icl = new Option<FileInfo?>("--icl") { Description = "ICL-50 JSONL: one many-shot episode per line" };
        var tasks = new Option<FileInfo?>("--tasks") { Description = "task pool JSONL: episodes are sampled from each task's train split" };
        var output = new Option<DirectoryInfo>("--out") { Description = "output folder", Required = true };
        var objective = ObjectiveOptions.Create();
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 100, Description = "optimizer steps" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 1, Description = "rows per micro-batch" };
        var seq = new Option<int>("--seq") { DefaultValueFactory = _ => 4096, Description = "tokens per row (episodes are truncated to fit)" };
        var accum = new Option<int>("--accum") { DefaultValueFactory = _ => 1, Description = "micro-batches per step (gradient accumulation)" };
        var lr = new Option<float>("--lr") { DefaultValueFactory = _ => 2e-5f, Description = "peak learning rate" };
        var schedule = new Option<string>("--schedule") { DefaultValueFactory = _ => "cosine", Description = "constant | cosine" };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 0, Description = "linear warm-up steps" };
        var maxShots = new Option<int>("--max-shots") { DefaultValueFactory = _ => 350, Description = "most demonstrations per sampled episode (--tasks)" };
        var every = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 50, Description = "write a checkpoint every N steps (and at the end)" };
        var resume = new Option<bool>("--resume") { Description = "continue from --out/checkpoint.safetensors" };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 0UL };
        var skipBad = new Option<bool>("--skip-bad-lines") { Description = "report malformed JSONL lines and go on, instead of stopping at the first" };
        var device = new DeviceOption();
        var command = new Command("train", "Fine-tune a Hugging Face Llama/Mistral model with it | metaicl | dricl")
        {
            model, tokenizer, icl, tasks, output, steps, batch, seq, accum, lr, schedule, warmup, maxShots, every, resume, seed, skipBad,
        };
        objective.AddTo(command);
        device.AddTo(command);
        var profile = new ProfileOption();
        profile.AddTo(command);
        command.SetAction(parse => CliError.Guard(parse, console =>
        {
            var folder = parse.GetValue(model)!.FullName;
            var tok = LoadTokenizer(parse.GetValue(tokenizer)?.FullName ?? Path.Combine(folder, "tokenizer.json"));
            var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
            CheckCompatible(config, tok, folder);
            var mode = parse.GetValue(skipBad) ? JsonlReadMode.Skip : JsonlReadMode.Fatal;
            var data = LoadData(parse.GetValue(icl), parse.GetValue(tasks), tok.Tokenizer, parse.GetValue(seq), parse.GetValue(maxShots), parse.GetValue(seed), mode, console);
            using var dev = profile.Wrap(parse, device.Open(parse), console);
            var net = ModelLoader.LoadFolder(folder, dev);
            var goal = objective.Build(parse);
            string outDir = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(outDir);
            int total = parse.GetValue(steps), rows = parse.GetValue(batch);
            var options = new TrainerOptions(total, LearningRateSchedule.Parse(parse.GetValue(schedule)!, parse.GetValue(lr), parse.GetValue(warmup), total))
            {
                GradAccumulation = parse.GetValue(accum),
                CheckpointDir = outDir,
                CheckpointEvery = parse.GetValue(every),
                MetricsPath = Path.Combine(outDir, "metrics.jsonl"),
                Progress = true,
            };
            var trainer = new Trainer(net, goal, position => data.Batch(position, rows), options);
            if (parse.GetValue(resume)) trainer.Resume(trainer.CheckpointPath!);
            console.WriteLine($"training {config.ModelType} ({net.ParameterCount / 1e6:F1}M parameters) with {goal.Name} on {data.Description}, {total} steps x {options.GradAccumulation} x {rows} rows of {data.Seq} tokens, from step {trainer.Step}");
            var records = trainer.Run();
            ModelSaver.SaveFolder(net, outDir);
            File.Copy(tok.Source, Path.Combine(outDir, "tokenizer.json"), overwrite: true);
            if (records.Count > 0) console.WriteLine($"final loss {records[^1].Loss:F4} after step {records[^1].Step}, {records[^1].TokensPerSecond:F0} tokens/s");
            console.WriteLine($"wrote {outDir}");
            return 0;
        }));
        return command;
    }

    public static LoadedTokenizer LoadTokenizer(string path) =>
        new(TokenizeCommand.LoadTokenizer(path), path);

    /// <summary>The tokenizer must produce only ids the model has, with the model's BOS and EOS.</summary>
    public static void CheckCompatible(ModelConfig config, LoadedTokenizer tok, string folder)
    {
        if (tok.Tokenizer.VocabSize > config.VocabSize)
            throw new CliError($"{tok.Source}: {tok.Tokenizer.VocabSize} tokens, but the model in {folder} has a vocabulary of {config.VocabSize}");
        if (tok.Tokenizer.BosId != config.BosTokenId || tok.Tokenizer.EosId != config.EosTokenId)
            throw new CliError($"{tok.Source}: BOS/EOS ids {tok.Tokenizer.BosId}/{tok.Tokenizer.EosId} differ from the model's {config.BosTokenId}/{config.EosTokenId} in {folder}");
    }

    static TrainingData LoadData(FileInfo? icl, FileInfo? tasks, ITokenizer tok, int seq, int maxShots, ulong seed, JsonlReadMode mode, TextWriter console)
    {
        if ((icl is null) == (tasks is null)) throw new CliError("give exactly one of --icl FILE and --tasks FILE");
        if (icl is not null)
        {
            var read = IclJsonl.Read(icl.FullName, mode);
            if (read.Errors.Count > 0) console.WriteLine(read.ErrorReport());
            return TrainingData.FromIclRecords(read.Records, icl.FullName, tok, seq, seed);
        }
        return TrainingData.FromTasks(ReadTaskSplits(tasks!.FullName, mode, seed, console), tasks.FullName, tok, seq, maxShots, seed);
    }

    public static List<TaskSplit> ReadTaskSplits(string path, JsonlReadMode mode, ulong seed, TextWriter console)
    {
        var read = TaskPool.Read(path, mode);
        if (read.Errors.Count > 0) console.WriteLine(read.ErrorReport());
        return read.Records.Select(t => t.Split(0.2, seed)).ToList();
    }
}

/// <summary>A tokenizer and the file it came from (copied next to the trained weights).</summary>
public sealed record LoadedTokenizer(BpeTokenizer Tokenizer, string Source);
