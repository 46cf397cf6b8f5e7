namespace DrICL.Training.Data;

/// <summary>
/// One demonstration as text: <see cref="Prompt"/> is everything written before the answer (separator,
/// input and output markers), <see cref="Answer"/> the supervised answer. In an episode the answer is followed
/// by an EOS token, which is supervised too and closes the demonstration.
/// </summary>
public sealed record Demonstration(string Prompt, string Answer);

/// <summary>The text of one episode before tokenization: an instruction (may be empty) and the demonstrations, the last of which is the query.</summary>
public sealed record EpisodeContent(string Instruction, IReadOnlyList<Demonstration> Demonstrations);

/// <summary>
/// How a task example is written as a demonstration: <c>InputPrefix + input + OutputPrefix</c> is the prompt
/// and the output is the answer. The default puts the blank-line separator at the start of every demonstration,
/// so that with the EOS between them an episode reads
/// <c>[BOS]{instruction}\n\nInput: {x1}\nOutput: {y1}[EOS]\n\nInput: {x2}\nOutput: {y2}[EOS]…</c>
/// and every demonstration is written the same way, including the first.
/// </summary>
public sealed record DemonstrationTemplate(string InputPrefix = "\n\nInput: ", string OutputPrefix = "\nOutput: ")
{
    public static DemonstrationTemplate Default { get; } = new();

    public Demonstration Render(TaskExample example) => new(InputPrefix + example.Input + OutputPrefix, example.Output);
}
