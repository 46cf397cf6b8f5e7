using DrICL.Kernels;
using DrICL.Model;

namespace DrICL.Training.Objectives;

/// <summary>DrICL hyperparameters (paper defaults: alpha 0.2, gamma 11, window 10).</summary>
public sealed record DrIclOptions(float Alpha = 0.2f, float Gamma = 11f, int Window = 10, int? SampleSize = null, PrefixVisibility Prefix = PrefixVisibility.All);

/// <summary>
/// DrICL (differentiated and reweighting objectives), per sequence with demonstrations k = 1..K:
///   loss = 0.5 * ((1 + alpha) * many + (1 - alpha) * zero)
/// many: the mean over demonstrations of A_k * L_k, L_k the token-mean NLL of demonstration k in the
/// ordinary causal pass and A_k = exp((L_k - b_k) / gamma) a constant advantage against a baseline b_k taken
/// from earlier demonstrations (importance-sampled over the previous window). zero: the token-mean NLL of a
/// second pass where each demonstration sees only itself and the prefix, so it is trained as a zero-shot
/// example. The batch loss is the mean of the sequence losses.
/// </summary>
public sealed class DrIcl(DrIclOptions options) : IObjective
{
    public DrIclOptions Options { get; } = options;
    public string Name => "dricl";

    public LossReport Run(Transformer model, TokenBatch batch, bool backward)
    {
        var (bsz, sequenceOf) = batch.Sequences();
        float a = Options.Alpha;
        ManyShotStats? stats = null;
        var nll = TokenWeighted.Pass(model, batch, backward, n =>
        {
            stats = ManyShotStats.Compute(batch, n, Options);
            var w = new float[n.Length];
            for (int t = 0; t < w.Length; t++)
            {
                int b = sequenceOf[t], k = batch.DemoIds[t];
                if (b >= 0 && k > 0 && batch.Labels[t] != TokenBatch.IgnoreIndex)
                    w[t] = 0.5f * (1 + a) / bsz * stats.Advantage[b][k - 1] / (stats.Demos[b] * stats.Tokens[b][k - 1]);
            }
            return w;
        });
        stats ??= ManyShotStats.Compute(batch, nll, Options);

        var zeroWeights = new float[nll.Length];
        var supervised = new int[bsz];
        var zeroSums = new double[bsz];
        for (int t = 0; t < nll.Length; t++) if (sequenceOf[t] >= 0 && batch.Labels[t] != TokenBatch.IgnoreIndex) supervised[sequenceOf[t]]++;
        for (int t = 0; t < nll.Length; t++)
            if (sequenceOf[t] >= 0 && batch.Labels[t] != TokenBatch.IgnoreIndex) zeroWeights[t] = 0.5f * (1 - a) / bsz / supervised[sequenceOf[t]];
        var nllZero = TokenWeighted.Pass(model, batch, backward, _ => zeroWeights, batch.SegmentIds, Options.Prefix);
        for (int t = 0; t < nll.Length; t++) if (sequenceOf[t] >= 0 && batch.Labels[t] != TokenBatch.IgnoreIndex) zeroSums[sequenceOf[t]] += nllZero[t];

        var many = new float[bsz];
        var zero = new float[bsz];
        double loss = 0;
        for (int b = 0; b < bsz; b++)
        {
            double m = 0;
            for (int k = 0; k < stats.Demos[b]; k++) m += (double)stats.Advantage[b][k] * stats.Loss[b][k];
            many[b] = (float)(m / stats.Demos[b]);
            zero[b] = (float)(zeroSums[b] / supervised[b]);
            loss += 0.5 * ((1 + a) * many[b] + (1 - a) * zero[b]) / bsz;
        }

        return new LossReport(loss, new Dictionary<string, float[]>
        {
            ["token_nll"] = nll,
            ["token_nll_zero"] = nllZero,
            ["dricl.many"] = many,
            ["dricl.zero"] = zero,
            ["dricl.demo_loss"] = stats.Padded(stats.Loss),
            ["dricl.baseline"] = stats.Padded(stats.Baseline),
            ["dricl.advantage"] = stats.Padded(stats.Advantage),
        });
    }
}

/// <summary>Per-sequence demonstration losses, baselines and advantages of the many-shot pass.</summary>
public sealed class ManyShotStats
{
    public required int[] Demos { get; init; }
    public required int[][] Tokens { get; init; }
    public required float[][] Loss { get; init; }
    public required float[][] Baseline { get; init; }
    public required float[][] Advantage { get; init; }

    public static ManyShotStats Compute(TokenBatch batch, float[] nll, DrIclOptions options)
    {
        var (count, sequenceOf) = batch.Sequences();
        var demos = new int[count];
        for (int t = 0; t < sequenceOf.Length; t++) if (sequenceOf[t] >= 0) demos[sequenceOf[t]] = Math.Max(demos[sequenceOf[t]], batch.DemoIds[t]);
        var sums = new double[count][];
        var tokens = new int[count][];
        for (int b = 0; b < count; b++)
        {
            if (demos[b] == 0) throw new ArgumentException($"sequence {b} of the batch has no demonstration");
            sums[b] = new double[demos[b]];
            tokens[b] = new int[demos[b]];
        }
        for (int t = 0; t < sequenceOf.Length; t++)
        {
            int b = sequenceOf[t], k = batch.DemoIds[t];
            if (b < 0 || k == 0 || batch.Labels[t] == TokenBatch.IgnoreIndex) continue;
            sums[b][k - 1] += nll[t];
            tokens[b][k - 1]++;
        }
        var loss = new float[count][];
        var baseline = new float[count][];
        var advantage = new float[count][];
        for (int b = 0; b < count; b++)
        {
            loss[b] = new float[demos[b]];
            for (int k = 0; k < demos[b]; k++)
            {
                if (tokens[b][k] == 0) throw new ArgumentException($"demonstration {k + 1} of sequence {b} has no supervised token");
                loss[b][k] = (float)(sums[b][k] / tokens[b][k]);
            }
            baseline[b] = Baselines(loss[b], options.Window, options.SampleSize);
            advantage[b] = new float[demos[b]];
            for (int k = 0; k < demos[b]; k++) advantage[b][k] = MathF.Exp((loss[b][k] - baseline[b][k]) / options.Gamma);
        }
        return new ManyShotStats { Demos = demos, Tokens = tokens, Loss = loss, Baseline = baseline, Advantage = advantage };
    }

    /// <summary>
    /// b_k for 0-based k: in the first window the previous demonstration's loss (b_0 = L_0); later, the
    /// importance-weighted mean over the previous window, pi_j = p(L_j) / q(L_j) with
    /// p(x) = 0.3 e^-0.2x + 0.7 e^-0.8x and q(x) = e^-x, keeping the sampleSize largest pi_j when set.
    /// </summary>
    public static float[] Baselines(float[] loss, int window, int? sampleSize)
    {
        if (window <= 0) throw new ArgumentException($"window must be positive, got {window}");
        var result = new float[loss.Length];
        for (int k = 0; k < loss.Length; k++)
        {
            int w = k / window;
            if (w == 0) { result[k] = loss[Math.Max(0, k - 1)]; continue; }
            var js = Enumerable.Range((w - 1) * window, window)
                .Select(j => (J: j, Pi: ImportanceWeight(loss[j])))
                .OrderByDescending(p => p.Pi).ThenBy(p => p.J)
                .Take(sampleSize ?? window);
            double num = 0, den = 0;
            foreach (var (j, pi) in js) { num += pi * loss[j]; den += pi; }
            result[k] = (float)(num / den);
        }
        return result;
    }

    static double ImportanceWeight(double x) => (0.3 * Math.Exp(-0.2 * x) + 0.7 * Math.Exp(-0.8 * x)) / Math.Exp(-x);

    public float[] Padded(float[][] perSequence)
    {
        int kMax = Demos.Max();
        var result = new float[Demos.Length * kMax];
        for (int b = 0; b < Demos.Length; b++) perSequence[b].CopyTo(result, b * kMax);
        return result;
    }
}
