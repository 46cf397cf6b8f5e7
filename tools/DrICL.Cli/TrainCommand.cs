using System.CommandLine;
using DrICL.Kernels;
using DrICL.Model;
using DrICL.Model.Tokenization;
using DrICL.Training;
using DrICL.Training.Data;
using DrICL.Training.Objectives;
using Microsoft.ML.Tokenizers;

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
        var tokenizer = new Option<FileInfo?>("--tokenizer") { Description = "tokenizer.json or tokenizer.model (default: the model folder's tokenizer.json, else its tokenizer.model)" };
        var icl = new Option<FileInfo?>("--icl") { Description = "ICL-50 JSONL: one many-shot episode per line" };
        var tasks = new Option<FileInfo?>("--tasks") { Description = "task pool JSONL: episodes are sampled from each task's train split" };
        var output = new Option<DirectoryInfo>("--out") { Description = "output folder", Required = true };
        var objective = ObjectiveOptions.Create();
        var steps = BoundedOption.Create("--steps", 100, 1, 1_000_000_000, "optimizer steps");
        var batch = BoundedOption.Create("--batch", 1, 1, 65_536, "rows per micro-batch");
        var seq = BoundedOption.Create("--seq", 4096, 2, 1 << 20, "most tokens per row (episodes are truncated to fit; at most the model's max_position_embeddings)");
        var accum = BoundedOption.Create("--accum", 1, 1, 65_536, "micro-batches per step (gradient accumulation)");
        var lr = BoundedOption.Create("--lr", 2e-5f, 0f, 1f, "peak learning rate");
        var schedule = BoundedOption.OneOf("--schedule", "cosine", ["constant", "cosine"], "learning-rate schedule");
        var warmup = BoundedOption.Create("--warmup", 0, 0, 1_000_000_000, "linear warm-up steps");
        var maxShots = BoundedOption.Create("--max-shots", 350, 1, 1_000_000, "most demonstrations per sampled episode (--tasks)");
        var every = BoundedOption.Create("--checkpoint-every", 50, 0, 1_000_000_000, "write a checkpoint every N steps (and at the end; 0: only at the end)");
        var resume = new Option<bool>("--resume") { Description = "continue from --out/checkpoint.safetensors" };
        var overwrite = new Option<bool>("--overwrite") { Description = "replace the run already in --out (its checkpoint and metrics)" };
        var force = new Option<bool>("--force") { Description = "resume even though the objective or its hyperparameters differ from the checkpoint's" };
        var allowNonFinite = AllowNonFiniteOption.Create();
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 0UL };
        var skipBad = new Option<bool>("--skip-bad-lines") { Description = "report malformed JSONL lines and go on, instead of stopping at the first" };
        var device = new DeviceOption();
        var command = new Command("train", "Fine-tune a Hugging Face Llama/Mistral model with it | metaicl | dricl")
        {
            model, tokenizer, icl, tasks, output, steps, batch, seq, accum, lr, schedule, warmup, maxShots, every, resume, overwrite, force, allowNonFinite, seed, skipBad,
        };
        objective.AddTo(command);
        device.AddTo(command);
        var profile = new ProfileOption();
        profile.AddTo(command);
        command.SetAction(parse => CliError.Guard(parse, console =>
        {
            var folder = parse.GetValue(model)!.FullName;
            var tok = LoadTokenizer(parse.GetValue(tokenizer)?.FullName ?? folder);
            var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
            CheckCompatible(config, tok, folder);
            CheckContext(config, parse.GetValue(seq), folder);
            string outDir = parse.GetValue(output)!.FullName;
            var goal = objective.Build(parse);
            var settings = objective.Settings(parse);
            PrepareRunFolder(outDir, parse.GetValue(resume), parse.GetValue(overwrite), parse.GetValue(force), settings);
            var mode = parse.GetValue(skipBad) ? JsonlReadMode.Skip : JsonlReadMode.Fatal;
            var data = LoadData(parse.GetValue(icl), parse.GetValue(tasks), tok.Tokenizer, parse.GetValue(seq), parse.GetValue(maxShots), parse.GetValue(seed), mode, console);
            using var dev = profile.Wrap(parse, device.Open(parse), console);
            var net = ModelLoader.LoadFolder(folder, dev, parse.GetValue(allowNonFinite));
            Directory.CreateDirectory(outDir);
            int total = parse.GetValue(steps), rows = parse.GetValue(batch);
            var options = new TrainerOptions(total, LearningRateSchedule.Parse(parse.GetValue(schedule)!, parse.GetValue(lr), parse.GetValue(warmup), total))
            {
                GradAccumulation = parse.GetValue(accum),
                CheckpointDir = outDir,
                CheckpointEvery = parse.GetValue(every),
                MetricsPath = Path.Combine(outDir, MetricsFileName),
                Settings = settings,
                Progress = true,
            };
            var trainer = new Trainer(net, goal, position => data.Batch(position, rows), options);
            if (parse.GetValue(resume)) trainer.Resume(trainer.CheckpointPath!);
            console.WriteLine($"training {config.ModelType} ({net.ParameterCount / 1e6:F1}M parameters) with {goal.Name} on {data.Description}, {total} steps x {options.GradAccumulation} x {rows} rows of {data.Seq} tokens, from step {trainer.Step}");
            var records = trainer.Run();
            ModelSaver.SaveFolder(net, outDir);
            File.Copy(tok.Source, Path.Combine(outDir, Path.GetFileName(tok.Source)), overwrite: true);
            if (records.Count > 0) console.WriteLine($"final loss {records[^1].Loss:F4} after step {records[^1].Step}, {records[^1].TokensPerSecond:F0} tokens/s");
            console.WriteLine($"wrote {outDir}");
            return 0;
        }));
        return command;
    }

    public const string MetricsFileName = "metrics.jsonl";

    /// <summary>
    /// A folder holding a run is only continued (--resume, with the same objective settings unless --force)
    /// or replaced (--overwrite), never silently overwritten.
    /// </summary>
    static void PrepareRunFolder(string outDir, bool resume, bool overwrite, bool force, Dictionary<string, string> settings)
    {
        string checkpoint = Path.Combine(outDir, Checkpoint.FileName), metrics = Path.Combine(outDir, MetricsFileName);
        if (resume && overwrite) throw new CliError("--resume and --overwrite: give one or the other");
        if (resume)
        {
            if (!File.Exists(checkpoint)) throw new CliError($"--resume: {checkpoint} does not exist");
            var recorded = Checkpoint.Settings(checkpoint);
            var changed = settings.Where(kv => recorded.TryGetValue(kv.Key, out var was) && was != kv.Value)
                .Select(kv => $"{kv.Key} {recorded[kv.Key]} -> {kv.Value}").ToList();
            if (changed.Count > 0 && !force)
                throw new CliError($"{checkpoint}: was trained with other settings ({string.Join(", ", changed)}); use the checkpoint's, or --force to resume with these");
            return;
        }
        bool holdsRun = File.Exists(checkpoint) || File.Exists(metrics);
        if (holdsRun && !overwrite) throw new CliError($"{outDir}: already holds a run ({Checkpoint.FileName}, {MetricsFileName}); --resume continues it, --overwrite replaces it");
        if (holdsRun)
        {
            File.Delete(checkpoint);
            File.Delete(metrics);
        }
    }

    /// <summary>--seq must fit the model's positions: RoPE and the attention buffers are sized by it.</summary>
    public static void CheckContext(ModelConfig config, int seq, string folder)
    {
        if (seq > config.MaxPositionEmbeddings)
            throw new CliError($"--seq {seq}: the model in {folder} has max_position_embeddings {config.MaxPositionEmbeddings}");
    }

    /// <summary>A tokenizer file, or a model folder's (tokenizer.json, else tokenizer.model); a known difference from Hugging Face is warned on stderr.</summary>
    public static LoadedTokenizer LoadTokenizer(string path)
    {
        string file = TokenizerFiles.Resolve(path);
        return new(TokenizerFiles.Load(file, warning => Console.Error.WriteLine($"warning: {warning}")), file);
    }

    /// <summary>The tokenizer must produce only ids the model has, with the model's BOS and EOS.</summary>
    public static void CheckCompatible(ModelConfig config, LoadedTokenizer tok, string folder)
    {
        if (tok.Tokenizer.VocabSize > config.VocabSize)
            throw new CliError($"{tok.Source}: {tok.Tokenizer.VocabSize} tokens, but the model in {folder} has a vocabulary of {config.VocabSize}");
        if (tok.Tokenizer.BosId != config.BosTokenId || tok.Tokenizer.EosId != config.EosTokenId)
            throw new CliError($"{tok.Source}: BOS/EOS ids {tok.Tokenizer.BosId}/{tok.Tokenizer.EosId} differ from the model's {config.BosTokenId}/{config.EosTokenId} in {folder}");
    }

    static TrainingData LoadData(FileInfo? icl, FileInfo? tasks, Tokenizer tok, int seq, int maxShots, ulong seed, JsonlReadMode mode, TextWriter console)
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
        if (read.Records.Count == 0) throw new CliError($"{path}: no task");
        try { return read.Records.Select(t => t.Split(0.2, seed)).ToList(); }
        catch (InvalidOperationException e) { throw new CliError($"{path}: {e.Message}", e); }
    }
}

/// <summary>A tokenizer and the file it came from (copied next to the trained weights).</summary>
public sealed record LoadedTokenizer(Tokenizer Tokenizer, string Source);
