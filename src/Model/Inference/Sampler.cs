namespace DrICL.Model.Inference;

/// <summary>
/// Picks next tokens from logits as SamplingOptions say: greedy at temperature 0, else softmax(logits / T)
/// restricted to the top-k tokens and then to the smallest most-likely set whose probability reaches top-p.
/// Nothing sorts the whole vocabulary: top-k is a partial selection (quickselect), and top-p first drops
/// every token below (1 - p) / n, which cannot be in the nucleus (the tokens from any nucleus member on
/// carry more than 1 - p between at most n of them, each no likelier than it), then sorts the few left.
/// Candidates are ranked by logit, ties by lower id. Buffers are allocated once; a seed fixes the draws.
/// </summary>
public sealed class Sampler
{
    readonly SamplingOptions options;
    readonly SplitMix64 rng;
    readonly int[] order;
    readonly double[] weight;  // unnormalized probability, by token id
    readonly Comparison<int> byRank;
    float[] current = [];

    public Sampler(SamplingOptions options, int vocabSize)
    {
        if (!(options.Temperature >= 0) || float.IsInfinity(options.Temperature)) throw new ArgumentOutOfRangeException(nameof(options), $"temperature {options.Temperature} is negative or not finite");
        if (options.TopK < 0) throw new ArgumentOutOfRangeException(nameof(options), $"top-k {options.TopK} is negative");
        if (!(options.TopP > 0 && options.TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(options), $"top-p {options.TopP} is outside (0, 1]");
        this.options = options;
        rng = new SplitMix64(options.Seed);
        order = new int[vocabSize];
        weight = new double[vocabSize];
        byRank = (a, b) => current[a] != current[b] ? current[b].CompareTo(current[a]) : a.CompareTo(b);
    }

    public int Sample(ReadOnlySpan<float> logits)
    {
        if (options.Temperature == 0) return Generation.ArgMax(logits);
        int n = logits.Length;
        if (current.Length != n) current = new float[n];
        logits.CopyTo(current);
        for (int i = 0; i < n; i++) order[i] = i;
        int kept = n;
        if (options.TopK > 0 && options.TopK < n)
        {
            SelectTop(options.TopK, n);
            kept = options.TopK;
        }
        float max = float.NegativeInfinity;
        for (int i = 0; i < kept; i++) max = Math.Max(max, current[order[i]]);
        double sum = 0;
        for (int i = 0; i < kept; i++) sum += weight[order[i]] = Math.Exp((current[order[i]] - max) / options.Temperature);
        if (options.TopP < 1)
        {
            double floor = (1 - options.TopP) / kept * sum;
            int candidates = 0;
            for (int i = 0; i < kept; i++)
                if (weight[order[i]] >= floor) order[candidates++] = order[i];
            order.AsSpan(0, candidates).Sort(byRank);
            double cumulative = 0, nucleus = 0;
            kept = candidates;
            for (int i = 0; i < candidates; i++)
            {
                nucleus += weight[order[i]];
                cumulative += weight[order[i]] / sum;
                if (cumulative >= options.TopP) { kept = i + 1; break; }
            }
            sum = nucleus;
        }
        double r = rng.NextDouble() * sum;
        for (int i = 0; i < kept; i++)
        {
            r -= weight[order[i]];
            if (r <= 0) return order[i];
        }
        return order[kept - 1];
    }

    // Moves the k best-ranked ids of order[0..n) to order[0..k) (in no particular order): Hoare quickselect.
    void SelectTop(int k, int n)
    {
        int lo = 0, hi = n - 1;
        while (lo < hi)
        {
            int pivot = order[lo + (hi - lo) / 2], i = lo, j = hi;
            while (i <= j)
            {
                while (byRank(order[i], pivot) < 0) i++;
                while (byRank(order[j], pivot) > 0) j--;
                if (i <= j) (order[i], order[j]) = (order[j--], order[i++]);
            }
            if (k - 1 <= j) hi = j;
            else if (k - 1 >= i) lo = i;
            else return;
        }
    }
}
