using DrICL.Kernels.Profiling;
using DrICL.Model;
using DrICL.Model.Autograd;

namespace DrICL.Training.Objectives;

/// <summary>
/// One forward pass whose loss is a weighted sum of token NLLs, the weights chosen from the NLLs
/// themselves (they are constants for differentiation). Every objective here is one or two of these.
/// The loss goes through Ops.LinearCrossEntropy, so training holds one chunk of logits, never all of them.
/// </summary>
public static class TokenWeighted
{
    public static float[] Pass(Transformer model, TokenBatch batch, bool backward, Func<float[], float[]> weightsFromNll,
        int[]? segmentIds = null, Kernels.PrefixVisibility prefix = Kernels.PrefixVisibility.All)
    {
        var tape = new Tape(model.Device, recording: backward);
        var hidden = model.Hidden(tape, batch.InputIds, batch.PositionIds, batch.Batch, batch.Seq, segmentIds, prefix, batch.SequenceIds);
        var loss = Profiler.Module("loss");
        var losses = Ops.LinearCrossEntropy(tape, hidden, model.LmHead, batch.Labels);   // chunked: the [N,V] logits never exist
        loss.Dispose();
        if (backward)
        {
            losses.Weights = weightsFromNll(losses.Nll);
            tape.Backward();
        }
        return losses.Nll;
    }

    /// <summary>Weights 1/n on the positions keep selects (n of them), 0 elsewhere: a token mean.</summary>
    public static float[] MeanOver(TokenBatch batch, Func<int, bool> keep)
    {
        var w = new float[batch.Labels.Length];
        int n = 0;
        for (int t = 0; t < w.Length; t++) if (batch.Labels[t] != TokenBatch.IgnoreIndex && keep(t)) n++;
        if (n == 0) throw new ArgumentException("the batch has no supervised position for this loss");
        for (int t = 0; t < w.Length; t++) if (batch.Labels[t] != TokenBatch.IgnoreIndex && keep(t)) w[t] = 1f / n;
        return w;
    }

    public static double Dot(float[] w, float[] nll)
    {
        double s = 0;
        for (int t = 0; t < w.Length; t++) s += (double)w[t] * nll[t];
        return s;
    }
}
