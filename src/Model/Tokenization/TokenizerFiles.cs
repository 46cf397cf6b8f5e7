using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace DrICL.Model.Tokenization;

/// <summary>
/// Loads a model folder's tokenizer. tokenizer.json (Hugging Face) wins and loads as the engine's BPE; a
/// folder with only a tokenizer.model loads through Microsoft.ML.Tokenizers' own classes: a tiktoken-format
/// file (base64 token, rank per line, as Meta ships Llama 3) with TiktokenTokenizer, anything else as a
/// SentencePiece model with LlamaTokenizer, which differs from Hugging Face in known ways (warned).
/// </summary>
public static class TokenizerFiles
{
    /// <summary>The warning printed when a SentencePiece tokenizer.model stands in for a tokenizer.json.</summary>
    public const string SentencePieceDifferences =
        "loaded with Microsoft.ML.Tokenizers' LlamaTokenizer, which differs from Hugging Face's tokenizer.json on some texts " +
        "(special tokens written in the text are not matched, equal-rank merges tie-break rightmost-first); add the model's tokenizer.json to match it exactly";

    /// <summary>The file a tokenizer path names: a file is itself; a folder's tokenizer.json, else its tokenizer.model.</summary>
    public static string Resolve(string path)
    {
        if (File.Exists(path)) return path;
        if (!Directory.Exists(path)) throw new TokenizerLoadException($"{path}: tokenizer file not found");
        foreach (var name in new[] { "tokenizer.json", "tokenizer.model" })
            if (File.Exists(Path.Combine(path, name))) return Path.Combine(path, name);
        throw new TokenizerLoadException($"{path}: no tokenizer.json or tokenizer.model in the folder");
    }

    /// <summary>Loads the tokenizer a path names (see Resolve); warn receives one line when the result is known to differ from Hugging Face.</summary>
    public static Tokenizer Load(string path, Action<string> warn)
    {
        string file = Resolve(path);
        InputFile.RequireRegular(file, maxBytes: 1L << 30);
        if (!file.EndsWith(".model", StringComparison.OrdinalIgnoreCase)) return BpeTokenizer.Load(file);
        try
        {
            if (TiktokenRanks(file) is int ranks) return LoadTiktoken(file, ranks);
            using var stream = File.OpenRead(file);
            var tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
            warn($"{file}: {SentencePieceDifferences}");
            return tokenizer;
        }
        catch (Exception e) when (e is not TokenizerLoadException)
        {
            throw new TokenizerLoadException($"{file}: neither a tiktoken file nor a SentencePiece model ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    /// <summary>The number of ranks when every line is "base64 rank" with ranks 0, 1, 2, ..., else null.</summary>
    private static int? TiktokenRanks(string file)
    {
        using var reader = new StreamReader(file, Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
        int count = 0;
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            if (line.Length == 0) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || !int.TryParse(line.AsSpan(space + 1), out int rank) || rank != count) return null;
            count++;
        }
        return count > 0 ? count : null;
    }

    /// <summary>
    /// A tiktoken file holds only the ranks: the special tokens and the split pattern come from the model's
    /// code. Llama 3's (128000 ranks) are known: 256 special tokens after the ranks and its split regex.
    /// </summary>
    private static TiktokenTokenizer LoadTiktoken(string file, int ranks)
    {
        if (ranks != Llama3Ranks)
            throw new TokenizerLoadException($"{file}: a tiktoken file of {ranks} ranks; only Llama 3's ({Llama3Ranks} ranks) is known, since the file names no special tokens or split pattern");
        var specials = Llama3SpecialTokens();
        return TiktokenTokenizer.Create(file, new RegexPreTokenizer(new Regex(WordSplitter.Llama3Regex, RegexOptions.Compiled), specials), normalizer: null, specials);
    }

    private const int Llama3Ranks = 128000;

    /// <summary>Meta's Llama 3 special tokens (its tokenizer.py), numbered from 128000.</summary>
    public static Dictionary<string, int> Llama3SpecialTokens()
    {
        string[] named =
        [
            "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
            "<|reserved_special_token_2|>", "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|reserved_special_token_4|>", "<|eot_id|>",
        ];
        var all = named.Concat(Enumerable.Range(5, 246).Select(i => $"<|reserved_special_token_{i}|>"));
        return all.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => Llama3Ranks + p.i);
    }
}
