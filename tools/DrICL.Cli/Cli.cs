namespace DrICL.Cli;

/// <summary>A problem with the user's input: printed as one line, never as a stack trace.</summary>
public sealed class UserError(string message) : Exception(message);

public static class Cli
{
    /// <summary>
    /// Runs a command body, turning expected failures (bad input files, bad arguments) into one line on
    /// stderr and exit code 2; anything else is a bug and keeps its stack trace.
    /// </summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is UserError or IOException or InvalidDataException or UnauthorizedAccessException
                                      or Model.Safetensors.SafetensorsException or ArgumentException)
        {
            Console.Error.WriteLine($"dricl: {e.Message}");
            return 2;
        }
    }
}
