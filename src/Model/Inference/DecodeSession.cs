using System.Diagnostics;

namespace DrICL.Model.Inference;

/// <summary>Tokens and seconds spent on prefill (the prompt, as one batch) and on decoding (one token per step).</summary>
public sealed record GenerationStats(int PrefillTokens, double PrefillSeconds, int DecodeTokens, double DecodeSeconds)
{
    public double PrefillTokensPerSecond => PrefillTokens / Math.Max(PrefillSeconds, 1e-9);
    public double DecodeTokensPerSecond => DecodeTokens / Math.Max(DecodeSeconds, 1e-9);

    public override string ToString() =>
        $"prefill {PrefillTokens} tokens, {PrefillTokensPerSecond:F1} tok/s; decode {DecodeTokens} tokens, {DecodeTokensPerSecond:F1} tok/s";
}

/// <summary>
/// One sequence being generated with a DecodeModel, which knows which ids its KV cache holds: Prefill of a
/// new context keeps the longest prefix it shares with the cached ids and runs only the rest (a chat's next
/// turn, or a prompt that extends the last one), so history is never recomputed.
/// </summary>
public sealed class DecodeSession(DecodeModel model)
{
    readonly List<int> cached = [];

    public DecodeModel Model => model;
    /// <summary>The ids whose keys and values the cache holds, in order.</summary>
    public IReadOnlyList<int> Cached => cached;
    public GenerationStats Stats { get; private set; } = new(0, 0, 0, 0);

    /// <summary>Makes the cache hold exactly ids and returns the logits after the last one; Stats counts the ids actually run.</summary>
    public ReadOnlySpan<float> Prefill(ReadOnlySpan<int> ids)
    {
        if (ids.IsEmpty) throw new ArgumentException("the prompt is empty");
        if (ids.Length > model.Context) throw new ArgumentException($"{ids.Length} tokens do not fit the context of {model.Context}");
        int keep = 0;
        while (keep < cached.Count && keep < ids.Length - 1 && cached[keep] == ids[keep]) keep++;  // the last id always runs: its logits are needed
        var clock = Stopwatch.StartNew();
        model.Truncate(keep);
        cached.RemoveRange(keep, cached.Count - keep);
        var logits = model.Prefill(ids[keep..]);
        foreach (int id in ids[keep..]) cached.Add(id);
        Stats = new GenerationStats(ids.Length - keep, clock.Elapsed.TotalSeconds, 0, 0);
        return logits;
    }

    /// <summary>Runs one more id into the cache (a chat closing a reply cut off by its token limit with EOS), counted as decoding.</summary>
    public void Append(int id)
    {
        var clock = Stopwatch.StartNew();
        model.Step(id);
        cached.Add(id);
        Stats = Stats with { DecodeTokens = Stats.DecodeTokens + 1, DecodeSeconds = Stats.DecodeSeconds + clock.Elapsed.TotalSeconds };
    }

    /// <summary>
    /// Prefills prompt and yields up to maxNewTokens sampled ids, ending after any of stopIds. Every yielded id but the
    /// last is run through the model to get the next logits; cacheLast runs the last one too (a chat's next turn
    /// then starts right after it).
    /// </summary>
    public IEnumerable<int> Generate(int[] prompt, int maxNewTokens, Sampler sampler, IReadOnlySet<int>? stopIds = null, bool cacheLast = false)
    {
        Prefill(prompt);
        var prefill = Stats;
        var clock = new Stopwatch();
        int decoded = 0;
        for (int step = 0; step < maxNewTokens; step++)
        {
            clock.Start();
            int next = sampler.Sample(model.Logits);
            clock.Stop();
            yield return next;
            bool last = stopIds?.Contains(next) == true || step == maxNewTokens - 1 || cached.Count == model.Context;
            if (!last || (cacheLast && cached.Count < model.Context))
            {
                clock.Start();
                model.Step(next);
                cached.Add(next);
                decoded++;
                clock.Stop();
            }
            Stats = prefill with { DecodeTokens = decoded, DecodeSeconds = clock.Elapsed.TotalSeconds };
            if (last) yield break;
        }
    }
}
