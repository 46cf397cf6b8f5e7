using DrICL.Training.Data;

namespace DrICL.Training.Synthetic;

/// <summary>
/// One synthetic episode's task: <see cref="Task"/> holds the instruction, the kind and the demonstration examples,
/// all drawn under one latent; <see cref="Queries"/> are held-out examples under the same latent; <see cref="Latent"/>
/// is that latent's canonical description (what <see cref="LatentSplit"/> hashes, and what tests recompute answers
/// from).
/// </summary>
public sealed record SyntheticEpisodeTask(IclTask Task, IReadOnlyList<TaskExample> Queries, string Latent);
