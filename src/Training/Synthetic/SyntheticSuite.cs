using DrICL.Model;
using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// The built-in synthetic many-shot suite: eight families of in-context tasks rendered as short text for the byte
/// tokenizer, each episode with its own hidden latent. Training episodes draw latents from the training side of
/// <see cref="LatentSplit"/>, evaluation episodes from the test side. Every episode is a pure function of its seed and
/// index, so a trainer resumes at a data position by asking for the same index again.
/// Episodes are written with <see cref="Template"/>: <c>[BOS]{instruction}\n{x1}={y1}[EOS]\n{x2}={y2}[EOS]…</c>,
/// whatever template the given <see cref="EpisodeBuilder"/> was made with: the suite renders the demonstrations itself
/// and the builder only lays them out (<see cref="EpisodeBuilder.Build"/>).
/// </summary>
public sealed class SyntheticSuite(IReadOnlyList<ISyntheticFamily> families)
{
    public const int MaxDifficulty = 2;

    /// <summary>Held-out queries drawn per evaluation latent; an evaluation episode poses one of them.</summary>
    public const int QueriesPerLatent = 4;

    /// <summary>
    /// Whatever the tokenizer, a laid-out demonstration holds at least a prompt token, an answer token and its EOS, so
    /// maxTokens / 3 + 1 demonstrations always overfill an episode.
    /// </summary>
    const int MinDemonstrationTokens = 3;

    /// <summary>Three bytes of markup per demonstration: "\n" before the input, "=" before the answer, then EOS.
    /// No input or answer holds "\n" or "=".</summary>
    public static DemonstrationTemplate Template { get; } = new("\n", "=");

    public SyntheticSuite() : this([
        new LinearSignFamily(), new PrototypeFamily(), new PairMetricFamily(), new FeatureRuleFamily(),
        new LabelMapFamily(), new CategoryClusterFamily(), new CipherFamily(), new ExtractiveSummaryFamily()])
    {
    }

    public IReadOnlyList<ISyntheticFamily> Families { get; } = families.Count > 0 ? families
        : throw new ArgumentException("a suite needs at least one family", nameof(families));

    /// <summary>
    /// Training episode <paramref name="index"/>: families take turns (index mod family count); the episode's generator,
    /// seeded by (<paramref name="seed"/>, index), draws a difficulty up to the curriculum's highest and a training-side
    /// latent, then demonstrations: the curriculum's MaxShots, or without a curriculum more than can fit, so that the
    /// builder drops the excess from the front and the episode fills <paramref name="maxTokens"/>. The curriculum
    /// is read at (index, <paramref name="totalEpisodes"/>).
    /// </summary>
    public Episode TrainingEpisode(long index, ulong seed, EpisodeBuilder builder, int maxTokens, Curriculum? curriculum = null, long totalEpisodes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxTokens);
        var random = new SplitMix64(SplitMix64.DeriveSeed(seed, $"train {index}"));
        var family = Families[(int)(index % Families.Count)];
        var (maxShots, maxDifficulty) = curriculum?.At(index, totalEpisodes) ?? (int.MaxValue, MaxDifficulty);
        int difficulty = random.NextInt(maxDifficulty + 1);
        int shots = Math.Min(maxShots, maxTokens / MinDemonstrationTokens + 1);
        var task = family.Sample(random, Split.Train, difficulty, shots, queries: 0).Task;
        return builder.Build(new EpisodeContent(task.Instruction, [.. task.Examples.Select(Template.Render)]), maxTokens);
    }

    /// <summary>
    /// An evaluation episode of <paramref name="family"/>: a test-side latent drawn from (<paramref name="seed"/>, family,
    /// difficulty), <paramref name="shots"/> demonstrations under it, then held-out query <paramref name="queryIndex"/>
    /// (of <see cref="QueriesPerLatent"/>). The latent, the queries and the demonstrations do not depend on
    /// <paramref name="shots"/>: k shots are the first k of k' > k, so accuracy over k compares like with like. With 0
    /// shots the episode is the instruction and the query. When the shots do not fit in <paramref name="maxTokens"/> the
    /// builder drops leading ones: <see cref="Episode.DroppedDemonstrations"/> is then non-zero. Expected is the query's
    /// answer, scored by the family's <see cref="ISyntheticFamily.Metric"/>.
    /// </summary>
    public (Episode Episode, string Expected, ISyntheticFamily Family) EvaluationEpisode(ISyntheticFamily family, int shots, int seed, int queryIndex,
        EpisodeBuilder builder, int maxTokens, int difficulty = MaxDifficulty)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shots);
        if (queryIndex is < 0 or >= QueriesPerLatent)
            throw new ArgumentOutOfRangeException(nameof(queryIndex), $"query index must be in [0, {QueriesPerLatent}), got {queryIndex}");
        var task = EvaluationTask(family, shots, seed, difficulty);
        var query = task.Queries[queryIndex];
        var content = new EpisodeContent(task.Task.Instruction, [.. task.Task.Examples.Select(Template.Render), Template.Render(query)]);
        return (builder.Build(content, maxTokens), query.Output, family);
    }

    /// <summary>
    /// The task behind <see cref="EvaluationEpisode"/>: the test-side latent drawn from (<paramref name="seed"/>, family,
    /// difficulty), its <see cref="QueriesPerLatent"/> held-out queries and <paramref name="shots"/> demonstrations, the
    /// first k of any k' > k. What a reference learner (<see cref="ISyntheticFamily.Solve"/>) sees of an evaluation episode.
    /// </summary>
    public static SyntheticEpisodeTask EvaluationTask(ISyntheticFamily family, int shots, int seed, int difficulty = MaxDifficulty)
    {
        var random = new SplitMix64(SplitMix64.DeriveSeed(unchecked((ulong)seed), $"test {family.Name} {difficulty}"));
        return family.Sample(random, Split.Test, difficulty, shots, QueriesPerLatent);
    }

    /// <summary>
    /// Training batch at data position <paramref name="position"/>: episodes position × rows … position × rows + rows - 1,
    /// one per row of <paramref name="seq"/> tokens (built with maxTokens = seq), padded with id 0, label -100 and demo,
    /// segment and position 0. The curriculum is read at the episode index over totalPositions × rows episodes.
    /// </summary>
    public TokenBatch TrainingBatch(long position, int rows, int seq, ulong seed, ByteTokenizer tokenizer, Curriculum? curriculum = null, long totalPositions = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        var builder = new EpisodeBuilder(tokenizer, Template);
        var inputIds = new int[rows * seq];
        var labels = new int[rows * seq];
        var demoIds = new int[rows * seq];
        var segmentIds = new int[rows * seq];
        var positionIds = new int[rows * seq];
        Array.Fill(inputIds, ByteTokenizer.PadId);
        Array.Fill(labels, TokenBatch.IgnoreIndex);
        for (int row = 0; row < rows; row++)
        {
            var episode = TrainingEpisode(position * rows + row, seed, builder, seq, curriculum, totalPositions * rows);
            int at = row * seq;
            episode.InputIds.CopyTo(inputIds, at);
            episode.Labels.CopyTo(labels, at);
            episode.DemoIds.CopyTo(demoIds, at);
            episode.SegmentIds.CopyTo(segmentIds, at);
            episode.PositionIds.CopyTo(positionIds, at);
        }
        return new TokenBatch(rows, seq, inputIds, labels, demoIds, segmentIds, positionIds);
    }

    internal static void CheckDifficulty(int difficulty)
    {
        if (difficulty is < 0 or > MaxDifficulty)
            throw new ArgumentOutOfRangeException(nameof(difficulty), $"difficulty must be in [0, {MaxDifficulty}], got {difficulty}");
    }
}
