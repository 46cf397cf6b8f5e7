using DrICL.Model;
using DrICL.Model.Autograd;
using DrICL.Training.Data;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// Scores a single-token answer from one forward pass: the model reads the episode up to the query's answer and the
/// answer is correct when the expected token is the <see cref="AnswerRanking"/> best of the family's choices.
/// </summary>
public static class ChoiceScorer
{
    /// <summary>1 when the model ranks <paramref name="expected"/> first among <paramref name="choices"/> at the query, else 0.</summary>
    public static double Score(Transformer model, Episode episode, int[] choices, int expected)
    {
        if (!choices.Contains(expected)) throw new ArgumentException($"the expected token {expected} is not among the choices");
        var prompt = episode.InputIds[..episode.Query.TokenStart];
        var positions = episode.PositionIds[..episode.Query.TokenStart];
        var logits = model.Forward(Tape.NoGrad(model.Device), prompt, positions, 1, prompt.Length, lastOnly: true).Value.ToArray();   // logits: [1,V]
        if (ModelLoader.FirstNonFinite(logits) is int bad) throw new NonFiniteLogitsException(prompt.Length - 1, bad, logits[bad]);
        return choices[AnswerRanking.Best(logits, choices)] == expected ? 1 : 0;
    }
}
