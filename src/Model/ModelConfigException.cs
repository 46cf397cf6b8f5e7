namespace DrICL.Model;

/// <summary>A model config that is malformed or describes a model the engine does not support; the message starts with the file.</summary>
public sealed class ModelConfigException(string source, string problem) : Exception($"{source}: {problem}")
{
    public string SourceName { get; } = source;
}
