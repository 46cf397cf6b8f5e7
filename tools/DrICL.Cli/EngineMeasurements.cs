using System.Diagnostics;
using DrICL.Kernels;
using DrICL.Kernels.Ilgpu;
using DrICL.Model;
using DrICL.Model.Autograd;
using DrICL.Training;
using DrICL.Training.Objectives;

namespace DrICL.Cli;

/// <summary>
/// Our side of `dricl bench cuda`: the engine's own ops on an IlgpuDevice, timed after a warm-up on the wall
/// clock from an idle stream until it drains again (IlgpuDevice.TimeMilliseconds). Memory is the allocator's
/// bytes in use, by size class, after a full collection so that tensors dead before the measurement are not
/// counted against it.
/// </summary>
public static class EngineMeasurements
{
    /// <summary>Mean forward and backward milliseconds of one causal attention call.</summary>
    public static (double ForwardMs, double BackwardMs) Attention(IlgpuDevice d, AttentionCase c, int warmup, int reps)
    {
        int rows = c.Batch * c.Seq, width = c.Heads * c.HeadDim;
        var shape = new AttentionShape(c.Batch, c.Seq, c.Seq, c.Heads, c.Heads, c.HeadDim);
        var mask = AttentionMask.Causal;
        Tensor q = Random(d, 1, rows, width), k = Random(d, 2, rows, width), v = Random(d, 3, rows, width), dO = Random(d, 4, rows, width);
        Tensor o = d.Zeros(rows, width), lse = d.Zeros(c.Batch * c.Heads * c.Seq), dq = d.Zeros(rows, width), dk = d.Zeros(rows, width), dv = d.Zeros(rows, width);
        double forward = Time(d, warmup, reps, () => d.Attention(q, k, v, o, lse, shape, mask));
        double backward = Time(d, warmup, reps, () => d.AttentionBackward(dO, q, k, v, o, lse, dq, dk, dv, shape, mask));
        return (forward, backward);
    }

    /// <summary>
    /// Mean milliseconds of the chunked lm_head + weighted cross-entropy, forward and backward, and the
    /// peak device bytes it took above its inputs (hidden states, lm_head), gradients included.
    /// </summary>
    public static (double Ms, long PeakBytes) CrossEntropy(IlgpuDevice d, CrossEntropyCase c, int warmup, int reps)
    {
        var h = Random(d, 5, c.Tokens, c.Hidden);
        var w = Random(d, 6, c.Vocab, c.Hidden, scale: 0.02f);
        var rng = new Random(7);
        var labels = Enumerable.Range(0, c.Tokens).Select(_ => rng.Next(c.Vocab)).ToArray();
        var weights = Enumerable.Repeat(1f / c.Tokens, c.Tokens).ToArray();
        void Step()
        {
            var tape = new Tape(d);
            var losses = Ops.LinearCrossEntropy(tape, new Var(h, requiresGrad: true), new Var(w, requiresGrad: true), labels);
            losses.Weights = weights;
            tape.Backward();
        }
        double ms = Time(d, warmup, reps, Step);
        // The peak of one call on its own, so that garbage of earlier repeats not yet collected does not count.
        long inputs = Settle(d);
        d.ResetPeak();
        Step();
        d.Synchronize();
        return (ms, d.PeakBytes - inputs);
    }

    /// <summary>
    /// Mean milliseconds of one training step, run by the Trainer itself (the objective's forward and
    /// backward, gradient clipping, AdamW), and the peak device bytes during the timed steps (weights,
    /// gradients and optimizer state included).
    /// </summary>
    public static (double Ms, long PeakBytes, long Parameters) TrainStep(IlgpuDevice d, TrainCase c, int warmup, int reps)
    {
        var model = ModelInit.Random(c.ToConfig(), d, seed: 1);
        var batch = RandomBatch(c.Batch, c.Seq, c.VocabSize);
        var options = new TrainerOptions(warmup + reps, new LearningRateSchedule(2e-5f));
        var clock = new Stopwatch();
        var trainer = new Trainer(model, new InstructionTuning(), _ => batch, options);
        trainer.Run(record =>
        {
            if (record.Step != warmup) return;
            Settle(d);
            d.ResetPeak();
            clock.Start();
        });
        d.Synchronize();
        return (clock.Elapsed.TotalMilliseconds / reps, d.PeakBytes, model.ParameterCount);
    }

    /// <summary>Random tokens, each row one episode, every position supervised with the next token.</summary>
    static TokenBatch RandomBatch(int rows, int seq, int vocab)
    {
        var rng = new Random(8);
        var ids = Enumerable.Range(0, rows * seq).Select(_ => rng.Next(vocab)).ToArray();
        var labels = new int[ids.Length];
        for (int t = 0; t < ids.Length; t++) labels[t] = (t + 1) % seq == 0 ? TokenBatch.IgnoreIndex : ids[t + 1];
        var positions = Enumerable.Range(0, ids.Length).Select(t => t % seq).ToArray();
        return new TokenBatch(rows, seq, ids, labels, new int[ids.Length], new int[ids.Length], positions);
    }

    static double Time(IlgpuDevice d, int warmup, int reps, Action body)
    {
        for (int i = 0; i < warmup; i++) body();
        return d.TimeMilliseconds(() =>
        {
            for (int i = 0; i < reps; i++) body();
        }) / reps;
    }

    /// <summary>Waits for the GPU and collects dead tensors; returns the bytes still in use.</summary>
    static long Settle(IlgpuDevice d)
    {
        d.Synchronize();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return d.BytesInUse;
    }

    static Tensor Random(IlgpuDevice d, int seed, int rows, int columns, float scale = 1f)
    {
        var rng = new Random(seed);
        var values = new float[(long)rows * columns];
        for (long i = 0; i < values.Length; i++) values[i] = scale * (2 * rng.NextSingle() - 1);
        return d.Upload(values, rows, columns);
    }
}
