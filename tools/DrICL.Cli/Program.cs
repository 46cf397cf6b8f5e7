using System.CommandLine;

namespace DrICL.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("DrICL: a Llama/Mistral training and inference engine for many-shot in-context learning");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(CheckReferenceCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(GpuCommand.Create());
        root.Subcommands.Add(ProfileCommand.Create());
        root.Subcommands.Add(StudyCommand.Create());
        return CliError.Run(root, args);
    }
}
