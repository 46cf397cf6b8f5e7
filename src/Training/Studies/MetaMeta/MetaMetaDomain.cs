using DrICL.Model;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.MetaMeta;

/// <summary>
/// One domain of the meta-meta study: a family of the synthetic suite at one difficulty, whose answers are single
/// tokens (<see cref="Labels"/>), so a model's answer is the label whose token it scores highest after the query.
/// Its training tasks are training-side latents, each with its own pool of examples (a task is a small data set, as in
/// the paper); its validation tasks are the suite's test-side evaluation latents, so the two never share a latent.
/// </summary>
public sealed record MetaMetaDomain(ISyntheticFamily Family, int Difficulty, IReadOnlyList<string> Labels)
{
    public string Name => $"{Family.Name}/{Difficulty}";

    /// <summary>
    /// Training tasks 0 … count - 1 drawn from <paramref name="seed"/>: task j is a training-side latent with
    /// <paramref name="poolSize"/> examples, a function of (seed, domain, j) only, so the first n of a larger set are the
    /// set of size n.
    /// </summary>
    public IReadOnlyList<TaskExample>[] TrainingTasks(ulong seed, int count, int poolSize) =>
        [.. Enumerable.Range(0, count).Select(j =>
            Family.Sample(new SplitMix64(SplitMix64.DeriveSeed(seed, $"{Name} task {j}")), Split.Train, Difficulty, poolSize, queries: 0).Task.Examples)];

    /// <summary>
    /// Validation items: for each of <paramref name="tasks"/> evaluation latents (<see cref="SyntheticSuite.EvaluationTask"/>,
    /// test side), its <see cref="SyntheticSuite.QueriesPerLatent"/> held-out queries, each with the latent's first
    /// <paramref name="shots"/> demonstrations. They depend on the domain only, never on a seed or an arm.
    /// </summary>
    public IReadOnlyList<ValidationItem> ValidationItems(int tasks, int shots) =>
        [.. Enumerable.Range(0, tasks).SelectMany(t =>
        {
            var task = SyntheticSuite.EvaluationTask(Family, shots, t, Difficulty);
            return task.Queries.Select(query => new ValidationItem(task.Task.Instruction, task.Task.Examples, query));
        })];
}

/// <summary>One scored query: the instruction, the demonstrations shown before it, and the query with its answer.</summary>
public sealed record ValidationItem(string Instruction, IReadOnlyList<TaskExample> Demonstrations, TaskExample Query);
