using System.CommandLine;
using DrICL.Model.Inference;
using DrICL.Model.Tokenization;

namespace DrICL.Cli;

/// <summary>
/// `dricl chat`: an interactive conversation on the cpu. Each line on stdin is a user turn (the reply streams
/// to stdout, prefill and decode figures to stderr); /reset starts over, /exit or end of input quits. The KV
/// cache holds the whole conversation, so a turn prefills only its own tokens; when the history outgrows
/// the context the oldest turns are dropped with a notice.
/// </summary>
public static class ChatCommand
{
    public static Command Create()
    {
        var options = new InferenceOptions();
        var system = new Option<string?>("--system") { Description = "a system message (Llama-2 template; Mistral's has no system role)" };
        var command = new Command("chat", "Talk to a model folder (lines on stdin; /reset, /exit, Ctrl-D)") { system };
        options.AddTo(command);
        command.SetAction(parse => CliError.Guard(parse, output =>
        {
            var error = parse.InvocationConfiguration.Error;
            var (config, maxTokens, sampling) = options.Read(parse);
            var tokenizer = options.Tokenizer(parse, config, "chat needs a tokenizer");
            var template = options.Template(parse, config, tokenizer);
            string? systemText = parse.GetValue(system);
            if (systemText is not null)
            {
                try { template.Render([new ChatMessage("system", systemText), new ChatMessage("user", "")]); }
                catch (ArgumentException e) { throw new CliError($"--system: {e.Message}"); }
            }
            using var net = options.LoadCpuModel(parse, config);
            var chat = new ChatSession(new DecodeSession(net), tokenizer, template, systemText, StopTokens.For(options.Folder(parse), config, tokenizer));
            var sampler = new Sampler(sampling, config.VocabSize);
            bool interactive = !Console.IsInputRedirected;
            error.WriteLine($"chat with {Path.GetFileName(options.Folder(parse))} ({config.ModelType}, {net.Weights.Format.ToString().ToLowerInvariant()}, context {net.Context}); /reset, /exit or Ctrl-D");
            while (true)
            {
                if (interactive) output.Write("> ");
                string? line = Console.In.ReadLine();
                if (line is null || line.Trim() == "/exit") return 0;
                if (line.Trim() == "/reset")
                {
                    chat.Reset();
                    error.WriteLine("(conversation reset)");
                    continue;
                }
                if (line.Trim().Length == 0) continue;
                var stream = new TokenStream(tokenizer, [], output);
                try
                {
                    foreach (int id in chat.Send(line, maxTokens, sampler, notice => error.WriteLine($"({notice})"))) stream.Push(id);
                }
                catch (ArgumentException e)
                {
                    error.WriteLine($"error: {e.Message}");
                    continue;
                }
                stream.Finish();
                error.WriteLine($"[{chat.Session.Stats}]");
            }
        }));
        return command;
    }
}
