namespace DrICL.Training.Data;

/// <summary>
/// Where demonstration k's answer lies: characters [CharStart, CharEnd) of <see cref="Episode.Text"/>, tokens
/// [TokenStart, EosPosition) of <see cref="Episode.InputIds"/>, and the EOS that closes it at EosPosition.
/// TokenStart is the token holding the answer's first character; with a SentencePiece vocabulary that token may
/// also hold the space before it ("▁positive"), so the prompt to generate from is <c>InputIds[..TokenStart]</c>.
/// </summary>
public readonly record struct AnswerSpan(int CharStart, int CharEnd, int TokenStart, int EosPosition);

/// <summary>
/// One many-shot episode, laid out exactly like the model fixtures' <c>inputs.safetensors</c> rows:
/// <code>
/// tokens   [BOS] instruction | prompt_1 answer_1 [EOS] | prompt_2 answer_2 [EOS] | … | prompt_K answer_K [EOS]
/// segment    0   0 …       0 | 1 …                   1 | 2 …                   2 | … | K …                   K
/// </code>
/// <list type="bullet">
/// <item>SegmentIds: 0 for BOS and the instruction, k for every token of demonstration k (its EOS included).
/// A token belongs to the segment in which its first character lies.</item>
/// <item>Labels: next-token targets, <c>Labels[t] = InputIds[t+1]</c>, on the positions that predict an answer token or
/// the EOS closing it: from the last prompt token to the last answer token. <see cref="IgnoreLabel"/> elsewhere
/// (the EOS itself predicts the next demonstration and is not supervised).</item>
/// <item>DemoIds: k on those supervised positions of demonstration k, 0 elsewhere; equal to the segment there.</item>
/// <item>PositionIds: 0 … Length-1.</item>
/// </list>
/// The last demonstration is the query: for training it is just the last sampled demonstration (what
/// <c>loss.metaicl</c> scores); for evaluation it is the held-out test example, generated from
/// <c>InputIds[..Query.TokenStart]</c> and scored against <c>Text[Query.CharStart..Query.CharEnd]</c>.
/// <see cref="Text"/> is the rendered text without special tokens: decoding <see cref="InputIds"/> while skipping
/// specials gives it back.
/// </summary>
public sealed class Episode
{
    public const int IgnoreLabel = -100;

    public required string Text { get; init; }
    public required int[] InputIds { get; init; }
    public required int[] Labels { get; init; }
    public required int[] DemoIds { get; init; }
    public required int[] SegmentIds { get; init; }
    public required int[] PositionIds { get; init; }
    /// <summary>Answers[k-1] is demonstration k's answer; the last one is the query.</summary>
    public required IReadOnlyList<AnswerSpan> Answers { get; init; }
    /// <summary>How many leading demonstrations were dropped so that the episode fits its token budget.</summary>
    public required int DroppedDemonstrations { get; init; }

    public int Length => InputIds.Length;
    public int DemonstrationCount => Answers.Count;
    public AnswerSpan Query => Answers[^1];
    public string QueryAnswer => Text[Query.CharStart..Query.CharEnd];
}
