namespace DrICL.Training.Data;

/// <summary>An episode that cannot be laid out as specified: the tokenizer blurred an answer boundary, the text produced special tokens, and the like.</summary>
public class EpisodeLayoutException(string message) : Exception(message);

/// <summary>Even the instruction, one demonstration and the query (or the query alone, for a one-demonstration episode) exceed the token budget.</summary>
public sealed class EpisodeTooLongException(int requiredTokens, int maxTokens, string message) : EpisodeLayoutException(message)
{
    public int RequiredTokens { get; } = requiredTokens;
    public int MaxTokens { get; } = maxTokens;
}
