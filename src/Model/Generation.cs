using System.Runtime.Intrinsics;
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

    /// <summary>The index of the first largest value; NaN is never chosen over a number (all NaN gives 0).</summary>
    public static unsafe int ArgMax(ReadOnlySpan<float> x)
    {
        // Sixteen lanes, each keeping its largest value and where it first saw it (or its first number, so -inf
        // counts), then the lanes compared: 3.6 µs over a 32k vocabulary against 21 µs for the plain scan, which
        // was 3% of a stories15M decode step. TensorPrimitives.IndexOfMax takes 8.6 µs and returns the first NaN.
        int n = x.Length, best = -1, i = 0;
        float top = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && n >= 16)
            fixed (float* p = x)
            {
                var max = Vector512.Create(float.NegativeInfinity);
                var at = Vector512.Create(-1);
                var index = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
                for (; i + 16 <= n; i += 16, index += Vector512.Create(16))
                {
                    var v = Vector512.Load(p + i);
                    var take = Vector512.GreaterThan(v, max).AsInt32() | (Vector512.LessThan(at, Vector512<int>.Zero) & Vector512.Equals(v, v).AsInt32());
                    max = Vector512.ConditionalSelect(take.AsSingle(), v, max);
                    at = Vector512.ConditionalSelect(take, index, at);
                }
                for (int lane = 0; lane < 16; lane++)
                    if (at[lane] >= 0 && (best < 0 || max[lane] > top || (max[lane] == top && at[lane] < best))) (top, best) = (max[lane], at[lane]);
            }
        for (; i < n; i++)
            if (x[i] > top || (best < 0 && !float.IsNaN(x[i]))) (top, best) = (x[i], i);
        return Math.Max(best, 0);
    }
}
