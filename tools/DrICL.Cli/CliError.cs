using System.CommandLine;
using System.Text.Json;
using DrICL.Model;
using DrICL.Model.Safetensors;
using DrICL.Model.Tokenization;

namespace DrICL.Cli;

/// <summary>A user-facing failure (bad input file, bad arguments): reported as one line on stderr, exit code 2.</summary>
public sealed class CliError(string message, Exception? inner = null) : Exception(message, inner)
{
    public const int ExitCode = 2;

    /// <summary>Runs a command body, turning expected failures into one stderr line instead of a stack trace.</summary>
    public static int Guard(ParseResult parse, Func<TextWriter, int> body)
    {
        var config = parse.InvocationConfiguration;
        try
        {
            return body(config.Output);
        }
        catch (Exception e) when (e is CliError or TokenizerLoadException or IOException or UnauthorizedAccessException or JsonException
                                      or InvalidDataException or SafetensorsException or ModelConfigException)
        {
            config.Error.WriteLine($"error: {e.Message}");
            return ExitCode;
        }
    }
}
