using DrICL.Model;

namespace DrICL.Training.Studies;

/// <summary>
/// Confidence intervals for study scores by a two-stage (hierarchical) bootstrap. Scores come as
/// scores[training seed][evaluation item]: the seeds are the first source of spread (each is a whole training
/// run), the items the second. A resample draws as many seeds as there are, with replacement, then within each
/// drawn seed as many of its items, with replacement, and takes the mean of everything drawn; the 95% interval is
/// the 2.5th and 97.5th percentile of those means (the percentile method). With only 3 seeds the seed stage can
/// draw few distinct runs, so the interval is honest about how little three training runs say.
///
/// A paired comparison of two arms uses the same drawn seed and item indexes for both and takes the mean of
/// a − b: when the arms share seeds (initialization and data) and items, the noise they share cancels, which is
/// why studies train every arm with the same <see cref="TrainingSeed"/>s.
/// </summary>
public static class Bootstrap
{
    public const int Resamples = 2000;
    public const double Level = 0.95;

    /// <summary>The mean of all scores and its two-stage bootstrap interval.</summary>
    public static Interval Mean(double[][] scores, ulong seed = 1, int resamples = Resamples, double level = Level)
    {
        CheckShape(scores, nameof(scores));
        return Resample(scores, (s, i) => scores[s][i], seed, resamples, level);
    }

    /// <summary>mean(a) − mean(b) for arms scored on the same seeds and items, resampled together.</summary>
    public static Interval PairedDifference(double[][] a, double[][] b, ulong seed = 1, int resamples = Resamples, double level = Level)
    {
        CheckShape(a, nameof(a));
        CheckShape(b, nameof(b));
        if (a.Length != b.Length) throw new ArgumentException($"a paired comparison needs the same training seeds in both arms: {a.Length} vs {b.Length}");
        for (int s = 0; s < a.Length; s++)
            if (a[s].Length != b[s].Length) throw new ArgumentException($"a paired comparison needs the same evaluation items in both arms: seed {s} has {a[s].Length} vs {b[s].Length}");
        return Resample(a, (s, i) => a[s][i] - b[s][i], seed, resamples, level);
    }

    static Interval Resample(double[][] shape, Func<int, int, double> score, ulong seed, int resamples, double level)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 100);
        if (level is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(level), $"level must be in (0, 1), got {level}");
        double estimate = 0;
        int count = 0;
        for (int s = 0; s < shape.Length; s++)
            for (int i = 0; i < shape[s].Length; i++) { estimate += score(s, i); count++; }
        estimate /= count;

        var random = new SplitMix64(seed);
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double sum = 0;
            int n = 0;
            for (int draw = 0; draw < shape.Length; draw++)
            {
                int s = random.NextInt(shape.Length), items = shape[s].Length;
                for (int j = 0; j < items; j++) sum += score(s, random.NextInt(items));
                n += items;
            }
            means[r] = sum / n;
        }
        Array.Sort(means);
        double tail = (1 - level) / 2;
        return new Interval(estimate, Percentile(means, tail), Percentile(means, 1 - tail));
    }

    /// <summary>Linear interpolation between order statistics of a sorted array.</summary>
    static double Percentile(double[] sorted, double p)
    {
        double at = p * (sorted.Length - 1);
        int below = (int)Math.Floor(at), above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (at - below) * (sorted[above] - sorted[below]);
    }

    static void CheckShape(double[][] scores, string name)
    {
        if (scores.Length == 0) throw new ArgumentException("no training seeds to bootstrap over", name);
        for (int s = 0; s < scores.Length; s++)
        {
            if (scores[s].Length == 0) throw new ArgumentException($"training seed {s} has no evaluation items", name);
            foreach (var x in scores[s])
                if (!double.IsFinite(x)) throw new ArgumentException($"training seed {s} has a non-finite score {x}", name);
        }
    }
}
