using DrICL.Kernels;
using DrICL.Model.Autograd;

namespace DrICL.Model;

/// <summary>How to pick each next token: greedy when Temperature is 0, else sampled with top-k / top-p.</summary>
public sealed record SamplingOptions(float Temperature = 0f, int TopK = 0, float TopP = 1f, ulong Seed = 0);

/// <summary>
/// Autoregressive decoding with a KV cache: the prompt is run once, then one token per step attends over
/// the cached keys and values, so each step costs O(context) instead of re-running the whole prefix.
/// </summary>
public static class Generation
{
    /// <summary>Generates up to maxNewTokens after prompt, stopping early at stopId; yields each token as it is chosen.</summary>
    public static IEnumerable<int> Generate(Transformer model, int[] prompt, int maxNewTokens, SamplingOptions sampling, int? stopId = null)
    {
        if (prompt.Length == 0) throw new ArgumentException("the prompt is empty");
        var cache = new KvCache(model.Config, model.Device, prompt.Length + maxNewTokens);
        var rng = new SplitMix64(sampling.Seed);
        var tape = Tape.NoGrad(model.Device);
        var ids = prompt;
        for (int step = 0; step < maxNewTokens; step++)
        {
            var positions = Enumerable.Range(cache.Length, ids.Length).ToArray();
            var logits = model.Forward(tape, ids, positions, 1, ids.Length, cache: cache, lastOnly: true).Value.ToArray();
            if (ModelLoader.FirstNonFinite(logits) is int bad) throw new NonFiniteLogitsException(cache.Length - 1, bad, logits[bad]);
            int next = Pick(logits, sampling, rng);
            yield return next;
            if (next == stopId) yield break;
            ids = [next];
        }
    }

    public static int Pick(float[] logits, SamplingOptions s, SplitMix64 rng)
    {
        if (s.Temperature <= 0f) return ArgMax(logits);
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        int keep = s.TopK > 0 ? Math.Min(s.TopK, order.Length) : order.Length;
        var probs = new double[keep];
        double max = logits[order[0]], sum = 0;
        for (int i = 0; i < keep; i++) sum += probs[i] = Math.Exp((logits[order[i]] - max) / s.Temperature);
        if (s.TopP < 1f)
        {
            double cumulative = 0;
            for (int i = 0; i < keep; i++)
            {
                cumulative += probs[i] / sum;
                if (cumulative >= s.TopP) { keep = i + 1; break; }
            }
            sum = probs.Take(keep).Sum();
        }
        double r = rng.NextDouble() * sum;
        for (int i = 0; i < keep; i++)
        {
            r -= probs[i];
            if (r <= 0) return order[i];
        }
        return order[keep - 1];
    }

    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
