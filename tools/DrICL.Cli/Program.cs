using System.CommandLine;

namespace DrICL.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("DrICL: a Llama/Mistral training and inference engine for many-shot in-context learning")
        {
            CheckReferenceCommand.Create(),
            CudaCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
