using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace DrICL.Cli;

/// <summary>
/// <c>dricl bench tokenizer</c>: single-thread encode throughput on generated English text, the Mistral
/// (SentencePiece-style) and Llama 3 (byte-level) tokenizers side by side in one run. The first pass fills
/// the word cache and is reported apart; the result is the median of the following passes, which is the
/// steady state of a training data loader.
/// </summary>
public static class TokenizerBench
{
    /// <summary>The Llama 3 tokenizer shipped in weights/ and copied next to the executable.</summary>
    public static string DefaultLlama3Path => Path.Combine(AppContext.BaseDirectory, "weights", "llama3-tokenizer", "tokenizer.json");

    public static Command CreateCommand()
    {
        var tokenizerOption = TokenizeCommand.TokenizerOption();
        var llama3Option = new Option<string>("--llama3-tokenizer")
        {
            HelpName = "FILE", Description = "the byte-level tokenizer measured beside --tokenizer; the default is the shipped Llama 3 tokenizer",
            DefaultValueFactory = _ => DefaultLlama3Path,
        };
        var jsonOption = new Option<string?>("--json")
        {
            HelpName = "FILE", Description = "also write {\"encode_mb_per_s\", \"encode_tokens_per_s\", ..., \"llama3\": {...}} to this file",
        };
        var megabytesOption = BoundedOption.Create("--megabytes", 4.0, 0.0, 1024.0, "size of the generated text", minExclusive: true);
        var repeatOption = BoundedOption.Create("--repeat", 5, 1, 1000, "timed passes (median reported)");
        var command = new Command("tokenizer", "Single-thread tokenizer encode throughput (MB/s, tokens/s), Mistral and Llama 3")
        {
            tokenizerOption, llama3Option, jsonOption, megabytesOption, repeatOption,
        };
        command.SetAction(parse => CliError.Guard(parse, output => Run(
            parse.GetValue(tokenizerOption)!, parse.GetValue(llama3Option)!, parse.GetValue(megabytesOption), parse.GetValue(repeatOption),
            parse.GetValue(jsonOption), output)));
        return command;
    }

    private static int Run(string tokenizerPath, string llama3Path, double megabytes, int repeat, string? jsonPath, TextWriter output)
    {
        string text = BenchText.Generate((int)(megabytes * 1e6), seed: 1);
        double mb = Encoding.UTF8.GetByteCount(text) / 1e6;
        output.WriteLine($"text        {mb:F2} MB of generated English, one thread, median of {repeat} passes after a first one that fills the word cache");
        output.WriteLine($"{"tokenizer",-10}  {"encode MB/s",11}  {"M tokens/s",10}  {"first pass MB/s",15}  {"bytes/token",11}  {"load s",6}  file");
        var main = Measure("mistral", tokenizerPath, text, mb, repeat, output);
        var llama3 = Measure("llama3", llama3Path, text, mb, repeat, output);
        output.WriteLine($"llama3 / mistral encode: {llama3["encode_mb_per_s"] / main["encode_mb_per_s"]:F2}x");

        if (jsonPath is not null)
        {
            var results = main.ToDictionary(p => p.Key, p => (object)p.Value);
            results["text_mb"] = Math.Round(mb, 3);
            results["llama3"] = llama3;
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
        return 0;
    }

    private static Dictionary<string, double> Measure(string name, string path, string text, double mb, int repeat, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        var tokenizer = TokenizeCommand.LoadTokenizer(path);
        double loadSeconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        int tokens = tokenizer.Encode(text).Ids.Length;
        double firstSeconds = clock.Elapsed.TotalSeconds;

        var seconds = new double[repeat];
        for (int i = 0; i < repeat; i++)
        {
            clock.Restart();
            tokenizer.Encode(text);
            seconds[i] = clock.Elapsed.TotalSeconds;
        }
        Array.Sort(seconds);
        double median = seconds[repeat / 2];
        output.WriteLine($"{name,-10}  {mb / median,11:F1}  {tokens / median / 1e6,10:F2}  {mb / firstSeconds,15:F1}  {mb * 1e6 / tokens,11:F2}  {loadSeconds,6:F2}  {path}");
        return new Dictionary<string, double>
        {
            ["encode_mb_per_s"] = Math.Round(mb / median, 2),
            ["encode_tokens_per_s"] = Math.Round(tokens / median),
            ["first_pass_mb_per_s"] = Math.Round(mb / firstSeconds, 2),
            ["tokens"] = tokens,
            ["load_seconds"] = Math.Round(loadSeconds, 3),
        };
    }
}
