namespace DrICL.Model.Safetensors;

/// <summary>A safetensors file or checkpoint folder that is malformed or unsupported; the message starts with the file.</summary>
public sealed class SafetensorsException(string file, string problem) : Exception($"{file}: {problem}")
{
    public string File { get; } = file;
}
