using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DrICL.Model;
using DrICL.Model.Inference;
using DrICL.Model.Tokenization;

namespace DrICL.Cli;

/// <summary>
/// `dricl generate`: continue a prompt with a model folder. Text streams to stdout as whole characters;
/// generation ends at EOS (any of StopTokens), a --stop string or --max-tokens; prefill and decode tokens/s go to stderr.
/// On the cpu it runs DecodeModel (bf16 or f32 weights); on cuda the training Transformer with Generation.
/// </summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var options = new InferenceOptions();
        var prompt = new Option<string?>("--prompt") { Description = "the prompt text" };
        var promptFile = new Option<FileInfo?>("--prompt-file") { Description = "read the prompt from a file" };
        var promptIds = new Option<string?>("--prompt-ids") { Description = "the prompt as token ids, e.g. 1,5,9 (no tokenizer needed)" };
        var printIds = new Option<bool>("--print-ids") { Description = "print the generated ids on one line instead of text" };
        var stop = new Option<string[]>("--stop") { Description = "stop when the text contains this string (repeatable)", AllowMultipleArgumentsPerToken = false };
        var chat = new Option<bool>("--chat") { Description = "wrap the prompt in the model's chat template" };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu", Description = "cpu, cuda or cuda:N" };
        var command = new Command("generate", "Generate text from a prompt with a model folder") { prompt, promptFile, promptIds, printIds, stop, chat, device };
        options.AddTo(command);
        command.SetAction(parse => CliError.Guard(parse, output =>
        {
            var error = parse.InvocationConfiguration.Error;
            var (config, maxTokens, sampling) = options.Read(parse);
            string[] stops = parse.GetValue(stop) ?? [];
            if (stops.Any(s => s.Length == 0)) throw new CliError("--stop: a stop string cannot be empty");
            string? text = parse.GetValue(prompt), ids = parse.GetValue(promptIds);
            var file = parse.GetValue(promptFile);
            if ((text is null ? 0 : 1) + (ids is null ? 0 : 1) + (file is null ? 0 : 1) != 1)
                throw new CliError("give exactly one of --prompt TEXT, --prompt-file FILE, --prompt-ids 1,5,9");
            if (file is not null) text = File.Exists(file.FullName) ? File.ReadAllText(file.FullName) : throw new CliError($"{file.FullName}: file not found");
            bool showText = !parse.GetValue(printIds);
            if (ids is not null && parse.GetValue(chat)) throw new CliError("--chat needs a text prompt, not --prompt-ids");
            var tokenizer = text is not null || showText || stops.Length > 0
                ? options.Tokenizer(parse, config, text is not null ? "needed to encode the prompt" : "needed to print text: add --print-ids for ids only")
                : null;
            int[] promptTokens = ids is not null ? ParseIds(ids, config.VocabSize)
                : parse.GetValue(chat) ? tokenizer!.Encode(options.Template(parse, config, tokenizer).Render([new ChatMessage("user", text!)], addGenerationPrompt: true).Text).Ids
                : tokenizer!.Encode(text!, addBos: tokenizer.AddsBosByDefault).Ids;
            if (promptTokens.Length == 0) throw new CliError("the prompt is empty");
            int context = options.Context(parse, config);
            if (promptTokens.Length >= context)
                throw new CliError($"the prompt is {promptTokens.Length} tokens, the context holds {context} (--context, max_position_embeddings {config.MaxPositionEmbeddings}): nothing left to generate");
            int budget = Math.Min(maxTokens, context - promptTokens.Length);
            var stopIds = StopTokens.For(options.Folder(parse), config, tokenizer);

            var stream = new TokenStream(tokenizer, stops, showText ? output : null);
            var produced = new List<int>();
            string where = parse.GetValue(device)!;
            GenerationStats stats;
            if (where == "cpu")
            {
                using var net = options.LoadCpuModel(parse, config);
                var session = new DecodeSession(net);
                foreach (int id in session.Generate(promptTokens, budget, new Sampler(sampling, config.VocabSize), stopIds))
                {
                    produced.Add(id);
                    if (stream.Push(id)) break;
                }
                stats = session.Stats;
            }
            else
                stats = GenerateOnGpu(options, parse, where, promptTokens, budget, sampling, stopIds, produced, stream);
            stream.Finish();
            if (!showText) output.WriteLine(string.Join(",", produced));
            error.WriteLine(stats.ToString());
            return 0;
        }));
        return command;
    }

    static GenerationStats GenerateOnGpu(InferenceOptions options, ParseResult parse, string where, int[] prompt, int budget, SamplingOptions sampling, IReadOnlySet<int> stopIds,
        List<int> produced, TokenStream stream)
    {
        using var dev = DeviceOption.Open(where, options.Format(parse) == Kernels.Cpu.WeightFormat.Bf16 ? "bf16" : "fp32");
        var net = ModelLoader.LoadFolder(options.Folder(parse), dev);
        var clock = Stopwatch.StartNew();
        double firstToken = 0;
        foreach (int id in Generation.Generate(net, prompt, budget, sampling))
        {
            if (produced.Count == 0) firstToken = clock.Elapsed.TotalSeconds;
            produced.Add(id);
            if (stream.Push(id) || stopIds.Contains(id)) break;
        }
        return new GenerationStats(prompt.Length, firstToken, produced.Count - 1, clock.Elapsed.TotalSeconds - firstToken);
    }

    public static int[] ParseIds(string text, int vocab)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out ids[i]) || ids[i] >= vocab)
                throw new CliError($"--prompt-ids: '{parts[i]}' is not a token id below the vocabulary size {vocab}");
        return ids;
    }
}

/// <summary>Generated ids to streamed text: whole UTF-8 characters only, cut before any stop string.</summary>
public sealed class TokenStream(BpeTokenizer? tokenizer, IReadOnlyList<string> stops, TextWriter? output)
{
    readonly StreamingDecoder? decoder = tokenizer?.CreateStreamingDecoder();
    readonly StopStrings stopper = new(stops);

    /// <summary>Shows one id; true when a stop string completed.</summary>
    public bool Push(int id)
    {
        if (decoder is null) return false;
        Write(stopper.Push(decoder.Push(id)));
        return stopper.Stopped;
    }

    public void Finish()
    {
        if (decoder is null) return;
        Write(stopper.Push(decoder.Flush()));
        Write(stopper.Flush());
        output?.WriteLine();
    }

    void Write(string text)
    {
        if (output is null || text.Length == 0) return;
        output.Write(text);
        output.Flush();
    }
}
