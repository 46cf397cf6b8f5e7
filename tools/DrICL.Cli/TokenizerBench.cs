using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace DrICL.Cli;

/// <summary>
/// <c>dricl bench tokenizer</c>: single-thread encode throughput on generated English text. The first pass
/// fills the word cache and is reported apart; the result is the median of the following passes, which is
/// the steady state of a training data loader.
/// </summary>
public static class TokenizerBench
{
    public static Command CreateCommand()
    {
        var tokenizerOption = TokenizeCommand.TokenizerOption();
        var jsonOption = new Option<string?>("--json") { HelpName = "FILE", Description = "also write {\"encode_mb_per_s\", \"encode_tokens_per_s\", ...} to this file" };
        var megabytesOption = BoundedOption.Create("--megabytes", 4.0, 0.0, 1024.0, "size of the generated text", minExclusive: true);
        var repeatOption = BoundedOption.Create("--repeat", 5, 1, 1000, "timed passes (median reported)");
        var command = new Command("tokenizer", "Single-thread tokenizer encode throughput (MB/s, tokens/s)")
        {
            tokenizerOption, jsonOption, megabytesOption, repeatOption,
        };
        command.SetAction(parse => CliError.Guard(parse, output => Run(
            parse.GetValue(tokenizerOption)!, parse.GetValue(megabytesOption), parse.GetValue(repeatOption), parse.GetValue(jsonOption), output)));
        return command;
    }

    private static int Run(string tokenizerPath, double megabytes, int repeat, string? jsonPath, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        var tokenizer = TokenizeCommand.LoadTokenizer(tokenizerPath);
        double loadSeconds = clock.Elapsed.TotalSeconds;
        string text = BenchText.Generate((int)(megabytes * 1e6), seed: 1);
        double mb = Encoding.UTF8.GetByteCount(text) / 1e6;

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

        var results = new Dictionary<string, double>
        {
            ["encode_mb_per_s"] = Math.Round(mb / median, 2),
            ["encode_tokens_per_s"] = Math.Round(tokens / median),
            ["first_pass_mb_per_s"] = Math.Round(mb / firstSeconds, 2),
            ["text_mb"] = Math.Round(mb, 3),
            ["tokens"] = tokens,
            ["load_seconds"] = Math.Round(loadSeconds, 3),
        };
        output.WriteLine($"tokenizer   {tokenizerPath} (loaded in {loadSeconds:F2} s)");
        output.WriteLine($"text        {mb:F2} MB of generated English, {tokens} tokens ({mb * 1e6 / tokens:F2} bytes/token)");
        output.WriteLine($"first pass  {mb / firstSeconds:F1} MB/s (empty word cache)");
        output.WriteLine($"encode      {mb / median:F1} MB/s, {tokens / median / 1e6:F2} M tokens/s (median of {repeat})");
        if (jsonPath is not null) File.WriteAllText(jsonPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return 0;
    }
}
