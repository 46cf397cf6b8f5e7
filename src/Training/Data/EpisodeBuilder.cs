using DrICL.Model;
using DrICL.Model.Tokenization;
using Microsoft.ML.Tokenizers;

namespace DrICL.Training.Data;

/// <summary>
/// Samples and lays out many-shot episodes (see <see cref="Episode"/> for the layout). The whole episode text is
/// encoded in one call, so tokens merge across boundaries exactly as they would in any other text, and the
/// tokenizer's offsets map the character ranges of the instruction, demonstrations and answers onto tokens.
/// EOS ids are then inserted after each answer: the text itself never holds special tokens.
/// </summary>
public sealed class EpisodeBuilder(Tokenizer tokenizer, DemonstrationTemplate? template = null)
{
    readonly DemonstrationTemplate template = template ?? DemonstrationTemplate.Default;

    /// <summary>
    /// A training episode: <paramref name="demonstrations"/> distinct examples drawn from <paramref name="pool"/> in
    /// draw order; the last one drawn is the query.
    /// </summary>
    public Episode SampleTraining(IclTask task, IReadOnlyList<TaskExample> pool, int demonstrations, SplitMix64 random, int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(demonstrations);
        if (demonstrations > pool.Count)
            throw new ArgumentException($"task {task.Name}: cannot draw {demonstrations} distinct demonstrations from {pool.Count} examples");
        var drawn = random.SampleWithoutReplacement(pool.Count, demonstrations);
        return Build(new EpisodeContent(task.Instruction, [.. drawn.Select(i => template.Render(pool[i]))]), maxTokens);
    }

    /// <summary>
    /// An evaluation episode: <paramref name="shots"/> distinct demonstrations drawn from <paramref name="pool"/> (the
    /// train split) followed by <paramref name="query"/> (a test example) as the last demonstration.
    /// </summary>
    public Episode SampleEvaluation(IclTask task, IReadOnlyList<TaskExample> pool, int shots, TaskExample query, SplitMix64 random, int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shots);
        if (shots > pool.Count)
            throw new ArgumentException($"task {task.Name}: cannot draw {shots} distinct demonstrations from {pool.Count} examples");
        var drawn = random.SampleWithoutReplacement(pool.Count, shots);
        return Build(new EpisodeContent(task.Instruction, [.. drawn.Select(i => template.Render(pool[i])), template.Render(query)]), maxTokens);
    }

    /// <summary>
    /// Lays out the content in at most <paramref name="maxTokens"/> tokens. When it does not fit, whole demonstrations
    /// are dropped from the front (the instruction and the query always stay, answers are never cut) until it does;
    /// throws <see cref="EpisodeTooLongException"/> when even the instruction, one demonstration and the query do not
    /// fit (the query alone for a one-demonstration episode).
    /// </summary>
    public Episode Build(EpisodeContent content, int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxTokens);
        int count = content.Demonstrations.Count;
        if (count == 0) throw new ArgumentException("an episode needs at least one demonstration (the query)");
        for (int k = 0; k < count; k++)
            if (content.Demonstrations[k].Answer.Length == 0) throw new ArgumentException($"demonstration {k + 1} has an empty answer");

        int mustKeep = Math.Min(2, count);
        for (int first = 0; ; )
        {
            var episode = Layout(content, first);
            if (episode.Length <= maxTokens) return episode;
            if (first == count - mustKeep)
            {
                int prefixTokens = episode.SegmentIds.Count(segment => segment == 0);
                string kept = mustKeep == 2 ? "one demonstration and the query" : "the query";
                throw new EpisodeTooLongException(episode.Length, maxTokens,
                    $"episode does not fit in {maxTokens} tokens: BOS and instruction ({prefixTokens} tokens) with {kept} need {episode.Length}");
            }
            // Drop as many leading demonstrations as this layout's token counts say are in excess. Tokens can merge
            // across boundaries, so counts are not exactly additive: the next layout is encoded and checked again.
            var demoTokens = new int[episode.DemonstrationCount];
            foreach (int segment in episode.SegmentIds) if (segment > 0) demoTokens[segment - 1]++;
            int excess = episode.Length - maxTokens;
            for (int dropped = 0; excess > 0 && first < count - mustKeep; dropped++, first++) excess -= demoTokens[dropped];
        }
    }

    Episode Layout(EpisodeContent content, int first)
    {
        int kept = content.Demonstrations.Count - first;
        var demoStart = new int[kept];
        var answerStart = new int[kept];
        var answerEnd = new int[kept];
        var builder = new System.Text.StringBuilder(content.Instruction);
        for (int j = 0; j < kept; j++)
        {
            var demonstration = content.Demonstrations[first + j];
            demoStart[j] = builder.Length;
            builder.Append(demonstration.Prompt);
            answerStart[j] = builder.Length;
            builder.Append(demonstration.Answer);
            answerEnd[j] = builder.Length;
        }
        string text = builder.ToString();

        var (ids, offsets) = tokenizer.Encode(text, addBos: true);
        CheckEncoding(text, ids, offsets);
        int n = ids.Length;

        // Token ranges of each answer in the encoding, before the EOS ids go in.
        var tokenStart = new int[kept];
        var tokenEnd = new int[kept];
        for (int j = 0; j < kept; j++)
        {
            int demo = first + j + 1;
            // The token holding the answer's first character: the last token starting at or before it (the first of
            // several byte tokens sharing that offset).
            int start = UpperBound(offsets, answerStart[j]) - 1;
            while (start > 1 && offsets[start - 1] == offsets[start]) start--;
            if (start - 1 < 1 || offsets[start - 1] < demoStart[j])
                throw new EpisodeLayoutException(
                    $"demonstration {demo}: no token of its own precedes the answer (its prompt {Quote(content.Demonstrations[demo - 1].Prompt)} " +
                    "merged into the text before it), so nothing in the demonstration predicts the answer's first token");
            int end = LowerBound(offsets, answerEnd[j]);
            bool clean = end < n ? offsets[end] == answerEnd[j] : answerEnd[j] == text.Length;
            if (!clean)
                throw new EpisodeLayoutException(
                    $"demonstration {demo}: the tokenizer merged the end of the answer {Quote(content.Demonstrations[demo - 1].Answer)} " +
                    "with the text after it, so no EOS can follow the answer; change the template's separators");
            tokenStart[j] = start;
            tokenEnd[j] = end;
        }

        // Emit with EOS j after answer j: every original token at or after tokenEnd[j] shifts right by one more.
        int length = n + kept;
        var inputIds = new int[length];
        var segmentIds = new int[length];
        var positionIds = new int[length];
        var labels = new int[length];
        var demoIds = new int[length];
        Array.Fill(labels, Episode.IgnoreLabel);
        int t = 0, inserted = 0, segment = 0;
        for (int i = 0; i < n; i++)
        {
            if (inserted < kept && tokenEnd[inserted] == i) { inputIds[t] = tokenizer.EosId; segmentIds[t++] = segment; inserted++; }
            while (i > 0 && segment < kept && offsets[i] >= demoStart[segment]) segment++; // BOS stays in the prefix
            inputIds[t] = ids[i];
            segmentIds[t++] = segment;
        }
        if (inserted < kept) { inputIds[t] = tokenizer.EosId; segmentIds[t] = segment; }
        for (int p = 0; p < length; p++) positionIds[p] = p;

        var answers = new AnswerSpan[kept];
        for (int j = 0; j < kept; j++)
        {
            int answerFirstToken = tokenStart[j] + j, eosPosition = tokenEnd[j] + j;
            // Supervised: the positions whose next token is an answer token or this EOS.
            for (int p = answerFirstToken - 1; p < eosPosition; p++)
            {
                labels[p] = inputIds[p + 1];
                demoIds[p] = j + 1;
            }
            answers[j] = new AnswerSpan(answerStart[j], answerEnd[j], answerFirstToken, eosPosition);
        }

        return new Episode
        {
            Text = text,
            InputIds = inputIds,
            Labels = labels,
            DemoIds = demoIds,
            SegmentIds = segmentIds,
            PositionIds = positionIds,
            Answers = answers,
            DroppedDemonstrations = first,
        };
    }

    void CheckEncoding(string text, int[] ids, int[] offsets)
    {
        if (ids.Length == 0 || ids[0] != tokenizer.BosId)
            throw new EpisodeLayoutException("the tokenizer did not put BOS first when asked to");
        for (int i = 1; i < ids.Length; i++)
        {
            if (ids[i] == tokenizer.BosId || ids[i] == tokenizer.EosId)
                throw new EpisodeLayoutException(
                    $"the episode text holds a special token (id {ids[i]}) at character {offsets[i]}: " +
                    $"{Quote(text.Substring(offsets[i], Math.Min(20, text.Length - offsets[i])))}; BOS and EOS must only come from the layout");
            if (offsets[i] < offsets[i - 1] || offsets[i] > text.Length)
                throw new EpisodeLayoutException($"tokenizer offsets are not ordered within the text at token {i}");
        }
    }

    /// <summary>Index of the first offset greater than <paramref name="value"/>, searching after BOS.</summary>
    static int UpperBound(int[] offsets, int value)
    {
        int low = 1, high = offsets.Length;
        while (low < high) { int mid = (low + high) >>> 1; if (offsets[mid] <= value) low = mid + 1; else high = mid; }
        return low;
    }

    /// <summary>Index of the first offset at or after <paramref name="value"/>, searching after BOS.</summary>
    static int LowerBound(int[] offsets, int value)
    {
        int low = 1, high = offsets.Length;
        while (low < high) { int mid = (low + high) >>> 1; if (offsets[mid] < value) low = mid + 1; else high = mid; }
        return low;
    }

    static string Quote(string text) => "\"" + (text.Length <= 40 ? text : text[..40] + "…").ReplaceLineEndings("\\n") + "\"";
}
