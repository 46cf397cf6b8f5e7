namespace DrICL.Training.Studies;

/// <summary>
/// The answer a model gives among single-token choices: the choice whose token has the highest logit at the position
/// that predicts the answer, ties going to the earlier choice (so a constant model answers like always guessing the
/// first). For single-token answers this is greedy decoding's first step restricted to the choices.
/// </summary>
public static class AnswerRanking
{
    /// <summary>The index in <paramref name="choiceTokens"/> of the highest of their logits.</summary>
    public static int Best(ReadOnlySpan<float> logits, IReadOnlyList<int> choiceTokens)
    {
        int best = 0;
        for (int c = 1; c < choiceTokens.Count; c++) if (logits[choiceTokens[c]] > logits[choiceTokens[best]]) best = c;
        return best;
    }
}
