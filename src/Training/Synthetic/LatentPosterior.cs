namespace DrICL.Training.Synthetic;

/// <summary>
/// The Bayes decision of the family solvers (<see cref="ISyntheticFamily.Solve"/>). A solver enumerates the hypotheses
/// of its family (a latent, and the query's answer under it) and gives each the log of its joint probability with what
/// was seen: log P(latent) + log P(demonstrations | latent) + log P(query input, answer | latent), constants shared by
/// every hypothesis left out. The answer with the largest total is the most probable answer given the demonstrations
/// and the query, which maximizes the expected exact-match accuracy. Logs keep hundreds of shots from underflowing.
/// Totals within a relative 1e-9 of the best (symmetries of the prior) are ties, won by the ordinally smallest answer,
/// so a solver answers the same on every machine.
/// </summary>
static class LatentPosterior
{
    const double TieTolerance = 1e-9;

    /// <summary>The answer of largest total probability; hypotheses of log weight -∞ (that contradict what was seen) drop out.</summary>
    public static string MostProbableAnswer(IEnumerable<(string Answer, double LogWeight)> hypotheses, string family)
    {
        var fitting = hypotheses.Where(h => !double.IsNegativeInfinity(h.LogWeight)).ToList();
        if (fitting.Count == 0) throw new ArgumentException($"{family}: no latent of the family fits the demonstrations and the query");
        double max = fitting.Max(h => h.LogWeight);
        var totals = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var (answer, logWeight) in fitting) totals[answer] = totals.GetValueOrDefault(answer) + Math.Exp(logWeight - max);
        double best = totals.Values.Max();
        return totals.First(total => total.Value >= best * (1 - TieTolerance)).Key;
    }

    /// <summary>log(n! / (n - r)!): the log count of ordered draws of r distinct items out of n.</summary>
    public static double LogFalling(int n, int r)
    {
        double log = 0;
        for (int i = 0; i < r; i++) log += Math.Log(n - i);
        return log;
    }

    /// <summary>Every vector of <paramref name="length"/> integers in [low, high], the last one varying fastest.</summary>
    public static IEnumerable<int[]> Grid(int length, int low, int high)
    {
        IEnumerable<int[]> all = [[]];
        for (int i = 0; i < length; i++)
            all = all.SelectMany(prefix => Enumerable.Range(low, high - low + 1).Select(v => (int[])[.. prefix, v]));
        return all;
    }

    /// <summary>log C(n, r).</summary>
    public static double LogChoose(int n, int r) => LogFalling(n, r) - LogFalling(r, r);
}
