using DrICL.Cli;

namespace DrICL.Tests;

/// <summary>Runs the `dricl` entry point in-process, capturing its exit code and both output streams.</summary>
public static class CliRunner
{
    public static (int Exit, string Out, string Err) Run(params string[] args) => RunWithInput("", args);

    /// <summary>Runs with stdin reading from the given text (what `dricl chat` reads its turns from).</summary>
    public static (int Exit, string Out, string Err) RunWithInput(string input, params string[] args)
    {
        var (oldIn, oldOut, oldErr) = (Console.In, Console.Out, Console.Error);
        Console.SetIn(new StringReader(input));
        var (output, error) = (new StringWriter(), new StringWriter());
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            return (Program.Main(args), output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetIn(oldIn);
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
