using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies;

/// <summary>
/// The optimal learner on the curriculum study's held-out items, scored the way <see cref="TeacherForcedAnswers"/>
/// scores the model: for every demonstration of an item (its query last), the learner sees only the demonstrations
/// before it; the loss is -log of its posterior probability of the answer, and it is correct when its most probable
/// answer is the answer.
/// </summary>
public static class OptimalLearnerScores
{
    /// <summary>scores[item][demonstration], the query last, as <see cref="TeacherForcedAnswers.Score"/> gives for the model.</summary>
    public static AnswerScore[][] Score(SparseLinearPosterior posterior, IReadOnlyList<SparseLinearItem> items) =>
        [.. items.Select(item =>
        {
            TaskExample[] examples = [.. item.Demonstrations, item.Query];
            return examples.Select((example, shots) =>
            {
                var seen = examples[..shots];
                return new AnswerScore(posterior.Loss(seen, example), posterior.Solve(seen, example.Input) == example.Output);
            }).ToArray();
        })];

    /// <summary>
    /// Per item, the loss on its query of the optimal learner shown no demonstrations (the family's prior predictive
    /// P(y | x)): the lowest loss any model gets on that query without using the demonstrations.
    /// </summary>
    public static double[] PriorLoss(SparseLinearPosterior posterior, IReadOnlyList<SparseLinearItem> items) =>
        [.. items.Select(item => posterior.Loss([], item.Query))];
}
