using System.Diagnostics;
using DrICL.Kernels;
using DrICL.Kernels.Profiling;
using DrICL.Model;
using DrICL.Model.Safetensors;
using DrICL.Training.Objectives;
using DrICL.Training.Optimization;

namespace DrICL.Training;

/// <summary>
/// How to train. AdamW defaults are the DrICL paper's fine-tuning settings (lr 2e-5, betas 0.9/0.98,
/// eps 5e-8, weight decay 1e-4, clip 1.0); Schedule sets the learning rate of each step.
/// </summary>
public sealed record TrainerOptions(int Steps, LearningRateSchedule Schedule)
{
    public int GradAccumulation { get; init; } = 1;
    public AdamWConfig AdamW { get; init; } = new(2e-5f, 0.9f, 0.98f, 5e-8f, 1e-4f);
    public float MaxGradNorm { get; init; } = 1f;
    public string? CheckpointDir { get; init; }
    public int CheckpointEvery { get; init; }
    public string? MetricsPath { get; init; }
    /// <summary>The run's settings (objective hyperparameters) recorded in every checkpoint's metadata.</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; init; }
    public bool Progress { get; init; }
}

/// <summary>One optimizer step as logged to the metrics JSONL.</summary>
public sealed record StepRecord(int Step, double Loss, double GradNorm, float Lr, double TokensPerSecond, double ElapsedSeconds);

/// <summary>Training stopped because the loss or gradient stopped being finite.</summary>
public sealed class TrainingDivergedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The training loop: for each step, GradAccumulation micro-batches run the objective's forward and
/// backward passes, the summed gradients are averaged, clipped and applied by AdamW. Batches come from a
/// function of the data position (the micro-batch index), so a checkpoint that stores the position resumes
/// on exactly the data it would have seen, and the losses continue bit for bit.
/// </summary>
public sealed class Trainer
{
    readonly Transformer model;
    readonly IObjective objective;
    readonly Func<long, TokenBatch> batches;
    readonly TrainerOptions options;
    readonly AdamWOptimizer optimizer;
    long dataPosition;

    public Trainer(Transformer model, IObjective objective, Func<long, TokenBatch> batches, TrainerOptions options)
    {
        if (options.Steps < 0 || options.GradAccumulation < 1) throw new ArgumentException($"steps {options.Steps} and gradient accumulation {options.GradAccumulation} must be >= 0 and >= 1");
        this.model = model;
        this.objective = objective;
        this.batches = batches;
        this.options = options;
        optimizer = new AdamWOptimizer(model.Parameters, options.AdamW, options.MaxGradNorm, model.Device);
    }

    public int Step => optimizer.Step;
    public string? CheckpointPath => options.CheckpointDir is null ? null : Path.Combine(options.CheckpointDir, Checkpoint.FileName);

    /// <summary>Continues from a checkpoint written by this trainer (same model shape).</summary>
    public void Resume(string path) => dataPosition = Checkpoint.Restore(path, model, optimizer);

    /// <summary>Runs the remaining steps; onStep sees each step as it completes.</summary>
    public List<StepRecord> Run(Action<StepRecord>? onStep = null)
    {
        var records = new List<StepRecord>();
        if (options.CheckpointDir is { } dir && Directory.Exists(dir)) SafetensorsWriter.RemoveTemporaryFiles(dir);
        using var metrics = options.MetricsPath is null ? null : MetricsLog.Open(options.MetricsPath, Step);
        var progress = options.Progress ? new ProgressLine(options.Steps, Step) : null;
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        while (Step < options.Steps)
        {
            int step = Step + 1;
            float lr = options.Schedule.At(step);
            double loss = 0, norm;
            // The step range closes even when the step throws, so a profile of a diverged run stays well formed.
            using (Profiler.Range("step", step))
            {
                optimizer.Config = optimizer.Config with { Lr = lr };
                model.ZeroGrad();
                for (int micro = 0; micro < options.GradAccumulation; micro++)
                {
                    var batch = batches(dataPosition + micro);
                    loss += objective.Run(model, batch, backward: true).Loss / options.GradAccumulation;
                    tokens += batch.InputIds.Length;
                }
                if (!double.IsFinite(loss)) throw Diverged(step, $"the loss is {loss}");
                if (options.GradAccumulation > 1)
                    foreach (var (_, p) in model.Parameters) if (p.Grad is not null) model.Device.Scale(p.Grad, 1f / options.GradAccumulation);
                try { using (Profiler.Range("optimizer")) norm = optimizer.Update(); }
                catch (NonFiniteGradientException e) { throw Diverged(step, e.Message, e); }
            }
            dataPosition += options.GradAccumulation;

            var record = new StepRecord(step, loss, norm, lr, tokens / clock.Elapsed.TotalSeconds, clock.Elapsed.TotalSeconds);
            records.Add(record);
            metrics?.Write(record);
            progress?.Report(record);
            onStep?.Invoke(record);
            if (CheckpointPath is { } path && ((options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0) || step == options.Steps))
                SaveCheckpoint(path);
        }
        progress?.Finish();
        return records;
    }

    public void SaveCheckpoint(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var settings = new Dictionary<string, string>(options.Settings ?? new Dictionary<string, string>()) { ["objective"] = objective.Name };
        Checkpoint.Save(path, model, optimizer, dataPosition, settings);
    }

    TrainingDivergedException Diverged(int step, string why, Exception? inner = null)
    {
        string kept = CheckpointPath is { } p && File.Exists(p) ? $"the last good checkpoint is {p}" : "no checkpoint was written";
        return new TrainingDivergedException($"step {step}: {why}; training stopped, {kept}", inner);
    }
}
