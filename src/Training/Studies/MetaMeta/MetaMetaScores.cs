namespace DrICL.Training.Studies.MetaMeta;

/// <summary>
/// Every score of a meta-meta run, as [training seed][validation item] arrays (what <see cref="Bootstrap"/> takes): per
/// domain the base model, the meta-meta-learned initialization before fine-tuning, and per domain size the two
/// fine-tuning arms; the optimal learner's per-item scores (no training, so one row); the base model's training loss.
/// </summary>
public sealed class MetaMetaScores(MetaMetaPlan plan, int seeds)
{
    public MetaMetaPlan Plan { get; } = plan;
    public int Seeds { get; } = seeds;
    /// <summary>[domain][seed][item].</summary>
    public double[][][] Base { get; } = Jagged(plan.Domains.Count, seeds);
    /// <summary>[domain][seed][item]: the Reptile initialization for that domain, not fine-tuned.</summary>
    public double[][][] Initialization { get; } = Jagged(plan.Domains.Count, seeds);
    /// <summary>[domain][size][seed][item]: fine-tuned from the base model.</summary>
    public double[][][][] Plain { get; } = [.. Enumerable.Range(0, plan.Domains.Count).Select(_ => Jagged(plan.Sizes.Count, seeds))];
    /// <summary>[domain][size][seed][item]: fine-tuned from the meta-meta-learned initialization.</summary>
    public double[][][][] MetaMeta { get; } = [.. Enumerable.Range(0, plan.Domains.Count).Select(_ => Jagged(plan.Sizes.Count, seeds))];
    /// <summary>[domain][item]: the family's optimal learner on the same demonstrations.</summary>
    public double[][] Solver { get; } = new double[plan.Domains.Count][];
    /// <summary>[seed][step]: the base model's training loss.</summary>
    public double[][] BaseLoss { get; } = new double[seeds][];

    static double[][][] Jagged(int outer, int seeds) => [.. Enumerable.Range(0, outer).Select(_ => new double[seeds][])];

    /// <summary>Per seed, the items of every domain side by side: the all-domain average of an arm.</summary>
    public static double[][] AcrossDomains(IEnumerable<double[][]> perDomain)
    {
        var domains = perDomain.ToArray();
        return [.. Enumerable.Range(0, domains[0].Length).Select(seed => domains.SelectMany(domain => domain[seed]).ToArray())];
    }
}
