using System.Numerics.Tensors;

namespace DrICL.Model.Inference;

/// <summary>
/// Picks next tokens from logits as SamplingOptions say: greedy at temperature 0, else softmax(logits / T)
/// restricted to the top-k tokens and then to the smallest most-likely set whose probability reaches top-p.
/// Candidates are ranked by logit, ties by lower id, through one integer key per token (the logit's bits made
/// orderable, then the id), so a comparison is one integer compare. Nothing sorts: top-k is a quickselect, and
/// the nucleus is a quickselect that weighs as it partitions, keeping the better side whole while its mass falls
/// short of top-p and descending into it otherwise. Before that, top-p drops every token below (1 - p) / n of the
/// mass, which cannot be in the nucleus (the tokens from any nucleus member on carry more than 1 - p between at
/// most n of them, each no likelier than it). All of it is linear in the vocabulary on average: a flat
/// distribution, where nearly every token is a candidate, costs about as much as a peaked one.
/// Buffers are allocated once; a seed fixes the draws.
/// </summary>
public sealed class Sampler
{
    readonly SamplingOptions options;
    readonly SplitMix64 rng;
    readonly long[] keys;     // rank keys; keys[0..kept) are the candidates after Truncate
    readonly float[] weight;  // weight[i]: exp((logit - max) / T) of the token of keys[i], moved along with it
    readonly float[] byId;    // the same weights by token id, when the whole vocabulary is weighed at once

    public Sampler(SamplingOptions options, int vocabSize)
    {
        if (!(options.Temperature >= 0) || float.IsInfinity(options.Temperature)) throw new ArgumentOutOfRangeException(nameof(options), $"temperature {options.Temperature} is negative or not finite");
        if (options.TopK < 0) throw new ArgumentOutOfRangeException(nameof(options), $"top-k {options.TopK} is negative");
        if (!(options.TopP > 0 && options.TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(options), $"top-p {options.TopP} is outside (0, 1]");
        this.options = options;
        rng = new SplitMix64(options.Seed);
        keys = new long[vocabSize];
        weight = new float[vocabSize];
        byId = new float[vocabSize];
    }

    public int Sample(ReadOnlySpan<float> logits)
    {
        if (options.Temperature == 0) return Generation.ArgMax(logits);
        int kept = Truncate(logits);
        if (kept < 0) return Draw(byId.AsSpan(0, logits.Length));  // the whole vocabulary, by id
        return Id(keys[Draw(weight.AsSpan(0, kept))]);
    }

    // The index of weights where a uniform draw over their sum lands: the first whose running sum passes it,
    // found a block of 256 sums at a time. A weight of 0 is never picked.
    int Draw(ReadOnlySpan<float> weights)
    {
        const int Block = 256;
        double r = rng.NextDouble() * TensorPrimitives.Sum(weights);
        int start = 0;
        for (float block; start + Block < weights.Length && r >= (block = TensorPrimitives.Sum(weights.Slice(start, Block))); start += Block) r -= block;
        for (int i = start; i < weights.Length; i++)
        {
            if (r < weights[i]) return i;
            r -= weights[i];
        }
        int last = weights.Length - 1;  // r past the end by rounding: the last token that can be drawn
        while (last > 0 && weights[last] == 0) last--;
        return last;
    }

    /// <summary>
    /// The tokens a draw may pick, as a count: their ids are CandidateId(0..count), in no particular order; -1 when
    /// nothing truncates (no top-k, top-p 1) and every token of the vocabulary may be drawn.
    /// </summary>
    internal int Truncate(ReadOnlySpan<float> logits)
    {
        int n = logits.Length, kept;
        if (n > keys.Length) throw new ArgumentException($"{n} logits for a vocabulary of {keys.Length}");
        float inverseT = 1 / options.Temperature;
        double total;  // the mass of the top-k, or of the whole vocabulary
        if (options.TopK > 0 && options.TopK < n)
        {
            for (int i = 0; i < n; i++) keys[i] = RankKey(logits[i], i);
            kept = options.TopK;
            SelectBest(kept, n);
            float max = float.NegativeInfinity;
            for (int i = 0; i < kept; i++) max = Math.Max(max, logits[Id(keys[i])]);
            for (int i = 0; i < kept; i++) weight[i] = MathF.Exp((logits[Id(keys[i])] - max) * inverseT);
            total = Mass(0, kept);
            if (options.TopP < 1) kept = AboveFloor(kept, total);
        }
        else
        {
            // The whole vocabulary weighed at once, vectorized; keys only for the tokens past the top-p floor.
            var w = byId.AsSpan(0, n);
            TensorPrimitives.Subtract(logits, TensorPrimitives.Max(logits), w);
            TensorPrimitives.Multiply(w, inverseT, w);
            TensorPrimitives.Exp(w, w);
            if (options.TopP == 1) return -1;
            total = TensorPrimitives.Sum(w);
            float floor = (float)((1 - options.TopP) / n * total);
            kept = 0;
            for (int i = 0; i < n; i++)
                if (w[i] >= floor)
                {
                    keys[kept] = RankKey(logits[i], i);
                    weight[kept++] = w[i];
                }
        }
        return options.TopP < 1 ? Nucleus(kept, options.TopP * total) : kept;
    }

    // Keeps the candidates of keys[0..count) at or above the top-p floor, (1 - p) / count of their total mass.
    int AboveFloor(int count, double total)
    {
        double floor = (1 - options.TopP) / count * total;
        int kept = 0;
        for (int i = 0; i < count; i++)
            if (weight[i] >= floor)
            {
                keys[kept] = keys[i];
                weight[kept++] = weight[i];
            }
        return kept;
    }

    internal int CandidateId(int i) => Id(keys[i]);

    // A larger key is a likelier token: the logit's bits as an integer that orders like the float (negative floats
    // have their magnitude bits flipped, and -0 is 0 first), then the id complemented, so that of equal logits the
    // lower id wins.
    static long RankKey(float logit, int id)
    {
        int bits = BitConverter.SingleToInt32Bits(logit + 0f);  // + 0 turns -0 into 0
        bits ^= (bits >> 31) & int.MaxValue;
        return ((long)bits << 32) | (uint)~id;
    }

    static int Id(long key) => ~(int)key;

    double Mass(int from, int to) => TensorPrimitives.Sum(weight.AsSpan(from, to - from));

    // Moves the k largest keys of keys[0..n) to keys[0..k), in no particular order: quickselect.
    void SelectBest(int k, int n)
    {
        int lo = 0, hi = n;
        while (hi - lo > 1)
        {
            int p = Partition(lo, hi);
            if (p == k || p + 1 == k) return;
            if (p > k) hi = p;
            else lo = p + 1;
        }
    }

    // Moves the nucleus of keys[0..count) to the front and returns its size: the fewest best-ranked candidates
    // whose weights reach target. keys[0..lo) are in the nucleus and keys[hi..count) are not; each round
    // partitions keys[lo..hi) around a pivot and keeps the better side whole if its mass stays under what is
    // still needed (then the pivot too), or narrows to that side if not.
    int Nucleus(int count, double target)
    {
        int lo = 0, hi = count;
        double need = target;
        while (hi - lo > 1)
        {
            int p = Partition(lo, hi);
            double better = Mass(lo, p);
            if (better >= need)
                hi = p;
            else
            {
                need -= better + weight[p];
                lo = p + 1;
                if (need <= 0) return lo;
            }
        }
        return hi;
    }

    // Partitions keys[lo..hi) (and their weights) around the middle one: larger keys first, then the pivot,
    // whose index it returns. Hoare's scheme: two scans toward each other swap only the pairs on the wrong sides
    // (keys are distinct, and the pivot parked at the end stops the upward scan).
    int Partition(int lo, int hi)
    {
        Swap(lo + (hi - lo) / 2, hi - 1);
        long pivot = keys[hi - 1];
        int i = lo, j = hi - 2;
        while (true)
        {
            while (keys[i] > pivot) i++;
            while (j >= i && keys[j] < pivot) j--;
            if (j < i) break;
            Swap(i++, j--);
        }
        Swap(i, hi - 1);
        return i;
    }

    void Swap(int i, int j)
    {
        (keys[i], keys[j]) = (keys[j], keys[i]);
        (weight[i], weight[j]) = (weight[j], weight[i]);
    }
}
