using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// The held-out items every arm is scored on, built once and shared, so arms are compared on identical episodes.
/// Item i of training seed s poses query i mod <see cref="SyntheticSuite.QueriesPerLatent"/> of a test latent drawn from
/// (s, i / QueriesPerLatent): the items depend on (seed index, item index) only, never on the arm or the plan. Its
/// k-shot episode shows the first k demonstrations drawn under that latent, so k and k' share a prefix. A family's
/// curve stops at the last k of the plan at which every item's episode fits the context without dropping shots.
/// </summary>
public sealed class EvaluationSet
{
    /// <summary>One family's items: the shots that fit, Episodes[k index][seed][item], each item's task and expected answer token.</summary>
    public sealed record FamilyItems(ISyntheticFamily Family, int[] Shots, Episode[][][] Episodes, SyntheticEpisodeTask[][] Tasks, int[][] Queries, int[][] Expected);

    const ulong ItemSeed = 1414;

    public IReadOnlyList<FamilyItems> Families { get; }
    public int Seeds { get; }
    public int Items { get; }

    EvaluationSet(IReadOnlyList<FamilyItems> families, int seeds, int items) => (Families, Seeds, Items) = (families, seeds, items);

    /// <summary>Builds the items of every family for shots (ascending), seeds × items (items a multiple of QueriesPerLatent), in context tokens.</summary>
    public static EvaluationSet Build(IReadOnlyList<ISyntheticFamily> families, int[] shots, int seeds, int items, int context)
    {
        if (items <= 0 || items % SyntheticSuite.QueriesPerLatent != 0)
            throw new ArgumentException($"items per seed must be a positive multiple of {SyntheticSuite.QueriesPerLatent}, got {items}");
        var suite = new SyntheticSuite(families);
        var builder = new EpisodeBuilder(new ByteTokenizer(), SyntheticSuite.Template);
        var result = new List<FamilyItems>();
        foreach (var family in families)
        {
            var tasks = new SyntheticEpisodeTask[seeds][];
            var queries = new int[seeds][];
            var expected = new int[seeds][];
            for (int s = 0; s < seeds; s++)
            {
                tasks[s] = new SyntheticEpisodeTask[items];
                queries[s] = new int[items];
                expected[s] = new int[items];
                for (int i = 0; i < items; i++)
                {
                    var (latent, query) = Item(s, i);
                    tasks[s][i] = SyntheticSuite.EvaluationTask(family, shots[^1], latent);
                    queries[s][i] = query;
                    var answer = tasks[s][i].Queries[query].Output;
                    expected[s][i] = answer.Length == 1 ? AnswerChoices.Token(answer[0])
                        : throw new InvalidDataException($"family {family.Name}: answer '{answer}' is not one token");
                }
            }
            var fitting = new List<int>();
            var episodes = new List<Episode[][]>();
            foreach (int k in shots)
            {
                var atK = new Episode[seeds][];
                bool fits = true;
                for (int s = 0; s < seeds && fits; s++)
                {
                    atK[s] = new Episode[items];
                    for (int i = 0; i < items && fits; i++)
                    {
                        var (latent, query) = Item(s, i);
                        try { atK[s][i] = suite.EvaluationEpisode(family, k, latent, query, builder, context).Episode; }
                        catch (EpisodeTooLongException) { fits = false; break; }
                        fits = atK[s][i].DroppedDemonstrations == 0;
                    }
                }
                if (!fits) break;
                fitting.Add(k);
                episodes.Add(atK);
            }
            if (fitting.Count == 0) throw new InvalidDataException($"family {family.Name}: not even k={shots[0]} fits {context} tokens");
            result.Add(new FamilyItems(family, [.. fitting], [.. episodes], tasks, queries, expected));
        }
        return new EvaluationSet(result, seeds, items);
    }

    /// <summary>(test latent seed, query index) of item <paramref name="item"/> of training seed <paramref name="seed"/>.</summary>
    public static (int Latent, int Query) Item(int seed, int item) =>
        ((int)(SplitMix64.DeriveSeed(ItemSeed, $"seed {seed} latent {item / SyntheticSuite.QueriesPerLatent}") & int.MaxValue), item % SyntheticSuite.QueriesPerLatent);

    /// <summary>
    /// The model's scores [k index][item] on one family's items of training seed <paramref name="seed"/>, 1 when it ranks
    /// the right answer first: at every k that fits, or only at the given k indexes (in their order).
    /// </summary>
    public static double[][] Score(Transformer model, FamilyItems family, int seed, IReadOnlyList<int>? kIndexes = null)
    {
        var choices = AnswerChoices.Tokens(family.Family.Name);
        return [.. (kIndexes ?? Enumerable.Range(0, family.Shots.Length).ToList()).Select(k =>
            family.Episodes[k][seed].Select((e, i) => ChoiceScorer.Score(model, e, choices, family.Expected[seed][i])).ToArray())];
    }

    /// <summary>The model's scores [family][end][item] at each family's first k (0 in the study's plans) and its largest k that fits.</summary>
    public double[][][] ScoreEnds(Transformer model, int seed) =>
        [.. Families.Select(f => Score(model, f, seed, [0, f.Shots.Length - 1]))];
}
