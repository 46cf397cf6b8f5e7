using System.CommandLine;
using System.Reflection;

namespace DrICL.Cli;

/// <summary>
/// A user-facing failure (bad input file, bad arguments), and the CLI's one error path: every command's
/// failure, whatever its type, is reported as one line on stderr with exit code 2; exit code 1 stays
/// reserved for "ran, and the check failed" (check-reference, tokenize --cases). The global --verbose adds
/// the stack trace.
/// </summary>
public sealed class CliError(string message, Exception? inner = null) : Exception(message, inner)
{
    public const int ExitCode = 2;

    /// <summary>Parses and runs the command line; parse errors and anything a command throws become one line and exit 2.</summary>
    public static int Run(RootCommand root, string[] args)
    {
        root.Options.Add(new Option<bool>(VerboseName) { Description = "after an error, also print its stack trace", Recursive = true });
        ParseResult? parse = null;
        try
        {
            parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {OneLine(error.Message)}");
                return ExitCode;
            }
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            return Report(e, parse is not null && IsVerbose(parse), Console.Error);
        }
    }

    /// <summary>Runs a command body with the invocation's output writer; failures take the same path as in <see cref="Run"/>.</summary>
    public static int Guard(ParseResult parse, Func<TextWriter, int> body)
    {
        var config = parse.InvocationConfiguration;
        try
        {
            return body(config.Output);
        }
        catch (Exception e)
        {
            return Report(e, IsVerbose(parse), config.Error);
        }
    }

    /// <summary>
    /// Prints "error: message" on one line. Failures the engine raises for bad input carry messages that
    /// name the file or option; any other exception is a bug, so its type is named too.
    /// </summary>
    public static int Report(Exception e, bool verbose, TextWriter error)
    {
        var cause = Unwrap(e);
        string message = cause switch
        {
            OutOfMemoryException => "out of memory: the model, --batch or --seq is too large for this machine",
            _ when IsInputError(cause) => cause.Message,
            _ => $"{cause.GetType().Name}: {cause.Message}",
        };
        error.WriteLine($"error: {OneLine(message)}");
        if (verbose) error.WriteLine(e);
        return ExitCode;
    }

    const string VerboseName = "--verbose";

    static bool IsVerbose(ParseResult parse) =>
        parse.RootCommandResult.Command.Options.FirstOrDefault(o => o.Name == VerboseName) is Option<bool> verbose && parse.GetValue(verbose);

    static Exception Unwrap(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: 1 } a => Unwrap(a.InnerExceptions[0]),
        TargetInvocationException { InnerException: { } inner } => Unwrap(inner),
        TypeInitializationException { InnerException: { } inner } => Unwrap(inner),
        _ => e,
    };

    // The engine's own exception types and the framework's I/O and format failures; their messages name the input.
    static bool IsInputError(Exception e) =>
        e.GetType().Namespace?.StartsWith("DrICL", StringComparison.Ordinal) == true
        || e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidDataException or ArgumentException or FormatException;

    static string OneLine(string message) => string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
