using DrICL.Model;
using DrICL.Model.Autograd;
using DrICL.Training.Data;

namespace DrICL.Training.Studies;

/// <summary>How the model does on one demonstration's answer: the NLL of its tokens and closing EOS, and whether greedy decoding reproduces it.</summary>
public readonly record struct AnswerScore(double Loss, bool Correct);

/// <summary>
/// Scores every answer of a set of episodes from one teacher-forced forward pass instead of generating: the loss of an
/// answer is the summed NLL of its tokens and its EOS given everything before them, and it is correct when the argmax
/// of the logits is the next token at each of those positions. That is exactly greedy decoding's exact match: while
/// every argmax agrees, the teacher-forced prefix is what greedy decoding would have produced, and the EOS argmax
/// makes it stop there. Episodes go through the model in batches, right-padded: causal attention keeps the padding
/// from reaching any real position.
/// </summary>
public static class TeacherForcedAnswers
{
    /// <summary>Episodes per forward pass: bounds the [rows × context, vocabulary] logits held at once.</summary>
    const int RowsPerPass = 32;

    /// <summary>
    /// scores[episode][demonstration]; the last demonstration of each episode is its query. Rows are padded to
    /// <paramref name="width"/> tokens, or to the longest episode of each pass when it is null.
    /// </summary>
    public static AnswerScore[][] Score(Transformer model, IReadOnlyList<Episode> episodes, int? width = null)
    {
        var scores = new AnswerScore[episodes.Count][];
        int vocab = model.Config.VocabSize;
        var tape = Tape.NoGrad(model.Device);
        for (int first = 0; first < episodes.Count; first += RowsPerPass)
        {
            var rows = episodes.Skip(first).Take(RowsPerPass).ToList();
            int context = width ?? rows.Max(e => e.Length);
            var batch = TokenBatch.OneEpisodePerRow(rows, context);
            var logits = model.Forward(tape, batch.InputIds, batch.PositionIds, rows.Count, context).Value.ToArray();   // logits: [rows*T, V]
            for (int row = 0; row < rows.Count; row++)
            {
                var episode = rows[row];
                scores[first + row] = [.. episode.Answers.Select(answer =>
                {
                    double loss = 0;
                    bool correct = true;
                    for (int p = answer.TokenStart - 1; p < answer.EosPosition; p++)
                    {
                        var position = logits.AsSpan((row * context + p) * vocab, vocab);
                        if (ModelLoader.FirstNonFinite(position) is int bad) throw new NonFiniteLogitsException(p, bad, position[bad]);
                        int target = episode.InputIds[p + 1];
                        loss += LogSumExp(position) - position[target];
                        correct &= Generation.ArgMax(position) == target;
                    }
                    return new AnswerScore(loss, correct);
                })];
            }
        }
        return scores;
    }

    static double LogSumExp(ReadOnlySpan<float> x)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (float v in x) max = Math.Max(max, v);
        foreach (float v in x) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
