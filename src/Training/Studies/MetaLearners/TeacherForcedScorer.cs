using DrICL.Model;
using DrICL.Model.Autograd;
using DrICL.Training.Data;

namespace DrICL.Training.Studies.MetaLearners;

/// <summary>
/// Exact match of each episode's query answer from one forward pass, no generation. Greedy decoding reproduces the
/// expected answer exactly when, at every position from the last prompt token to the last answer token, the argmax
/// of the logits is the next expected token (the answer's tokens, then EOS): decoding follows the expected text as
/// long as each argmax agrees, and the first disagreement is a wrong answer either way. So feeding the whole episode
/// (answer and EOS included) and comparing argmaxes gives greedy decoding's exact-match score, for single-token and
/// multi-token answers alike. Episodes go through the model in batches, right-padded to the longest: causal attention
/// keeps the padding from reaching any real position.
/// </summary>
public static class TeacherForcedScorer
{
    public const int BatchSize = 32;

    /// <summary>1 where the model's greedy answer to the query would be exactly the expected one, else 0.</summary>
    public static double[] Score(Transformer model, IReadOnlyList<Episode> episodes)
    {
        var scores = new double[episodes.Count];
        var tape = Tape.NoGrad(model.Device);
        int vocab = model.Config.VocabSize;
        for (int start = 0; start < episodes.Count; start += BatchSize)
        {
            var chunk = episodes.Skip(start).Take(BatchSize).ToList();
            int seq = chunk.Max(e => e.Length);
            var ids = new int[chunk.Count * seq];
            Array.Fill(ids, ByteTokenizer.PadId);
            var positions = new int[ids.Length];
            for (int row = 0; row < chunk.Count; row++)
            {
                chunk[row].InputIds.CopyTo(ids, row * seq);
                for (int t = 0; t < seq; t++) positions[row * seq + t] = t;
            }
            var logits = model.Forward(tape, ids, positions, chunk.Count, seq).Value.ToArray();   // logits: [B*T, V]
            for (int row = 0; row < chunk.Count; row++)
            {
                var episode = chunk[row];
                bool correct = true;
                for (int p = episode.Query.TokenStart - 1; p < episode.Query.EosPosition && correct; p++)
                {
                    var at = logits.AsSpan((row * seq + p) * vocab, vocab);
                    if (ModelLoader.FirstNonFinite(at) is int bad) throw new NonFiniteLogitsException(p, bad, at[bad]);
                    correct = Generation.ArgMax(at) == episode.InputIds[p + 1];
                }
                scores[start + row] = correct ? 1 : 0;
            }
        }
        return scores;
    }
}
