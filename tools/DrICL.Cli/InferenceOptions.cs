using System.CommandLine;
using DrICL.Kernels.Cpu;
using DrICL.Model;
using DrICL.Model.Inference;
using DrICL.Model.Tokenization;

namespace DrICL.Cli;

/// <summary>The options `dricl generate` and `dricl chat` share: the model folder, how it is held and run, and sampling.</summary>
public sealed class InferenceOptions
{
    readonly Option<DirectoryInfo> model = new("--model") { Description = "Hugging Face model folder (config.json, safetensors, tokenizer.json)", Required = true };
    readonly Option<int> maxTokens = new("--max-tokens") { DefaultValueFactory = _ => 256, Description = "most tokens to generate (per reply in chat)" };
    readonly Option<float> temperature = new("--temperature") { DefaultValueFactory = _ => 0.8f, Description = "softmax temperature; 0 = greedy" };
    readonly Option<int> topK = new("--top-k") { DefaultValueFactory = _ => 0, Description = "sample among the k likeliest tokens; 0 = all" };
    readonly Option<float> topP = new("--top-p") { DefaultValueFactory = _ => 0.95f, Description = "sample from the smallest set of likeliest tokens holding this probability, in (0, 1]" };
    readonly Option<ulong> seed = new("--seed") { DefaultValueFactory = _ => 0UL, Description = "sampling seed" };
    readonly Option<string> dtype = new("--dtype") { DefaultValueFactory = _ => "bf16", Description = "linear weights in memory on the cpu: bf16 (memory-mapped when the file is bf16) or f32" };
    readonly Option<int?> context = new("--context") { Description = "positions of the KV cache (default: max_position_embeddings, at most 4096)" };
    readonly Option<int> threads = new("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount, Description = "cpu threads for decoding" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { model, maxTokens, temperature, topK, topP, seed, dtype, context, threads }) command.Options.Add(o);
    }

    /// <summary>The model's config and the generation options, checked before anything large is read.</summary>
    public (ModelConfig Config, int MaxTokens, SamplingOptions Sampling) Read(ParseResult parse) => (Config(parse), MaxTokens(parse), Sampling(parse));

    public string Folder(ParseResult parse) => parse.GetValue(model)!.FullName;

    int MaxTokens(ParseResult parse) =>
        parse.GetValue(maxTokens) is > 0 and var n ? n : throw new CliError($"--max-tokens {parse.GetValue(maxTokens)}: must be at least 1");

    SamplingOptions Sampling(ParseResult parse)
    {
        float t = parse.GetValue(temperature), p = parse.GetValue(topP);
        int k = parse.GetValue(topK);
        if (!(t >= 0) || float.IsInfinity(t)) throw new CliError($"--temperature {t}: must be 0 (greedy) or positive");
        if (!(p > 0 && p <= 1)) throw new CliError($"--top-p {p}: must be in (0, 1]");
        if (k < 0) throw new CliError($"--top-k {k}: must be 0 (off) or positive");
        return new SamplingOptions(t, k, p, parse.GetValue(seed));
    }

    public WeightFormat Format(ParseResult parse) => parse.GetValue(dtype) switch
    {
        "bf16" => WeightFormat.Bf16,
        "f32" => WeightFormat.F32,
        var other => throw new CliError($"--dtype {other}: use bf16 or f32"),
    };

    /// <summary>The model folder's config, checked before anything large is read.</summary>
    ModelConfig Config(ParseResult parse)
    {
        string folder = Folder(parse);
        string path = Path.Combine(folder, "config.json");
        if (!File.Exists(path)) throw new CliError($"{folder}: no config.json (expected a Hugging Face model folder)");
        return ModelConfig.Load(path);
    }

    public int Context(ParseResult parse, ModelConfig config)
    {
        int n = parse.GetValue(context) ?? Math.Min(config.MaxPositionEmbeddings, 4096);
        return n > 0 ? n : throw new CliError($"--context {n}: must be at least 1");
    }

    public DecodeModel LoadCpuModel(ParseResult parse, ModelConfig config)
    {
        int t = parse.GetValue(threads);
        if (t < 1) throw new CliError($"--threads {t}: must be at least 1");
        var format = Format(parse);
        return DecodeModel.Load(Folder(parse), format, Context(parse, config), t);
    }

    /// <summary>The model folder's tokenizer.json, which must fit the model's vocabulary and special ids.</summary>
    public BpeTokenizer Tokenizer(ParseResult parse, ModelConfig config, string why)
    {
        string folder = Folder(parse), path = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(path)) throw new CliError($"{folder}: no tokenizer.json ({why})");
        var tokenizer = TokenizeCommand.LoadTokenizer(path);
        TrainCommand.CheckCompatible(config, new LoadedTokenizer(tokenizer, path), folder);
        return tokenizer;
    }

    /// <summary>
    /// The chat template of the model folder's tokenizer_config.json when it has one (Llama-2, Mistral, Llama 3;
    /// any other is an error naming these); else the model family's: Mistral instruct for mistral, Llama-2 chat for llama.
    /// </summary>
    public ChatTemplate Template(ParseResult parse, ModelConfig config, BpeTokenizer tokenizer)
    {
        string path = Path.Combine(Folder(parse), "tokenizer_config.json");
        if (File.Exists(path) && File.ReadAllText(path).Contains("\"chat_template\"", StringComparison.Ordinal)) return ChatTemplateCatalog.Load(path);
        return new(config.ModelType == "mistral" ? ChatFormat.Mistral : ChatFormat.Llama2,
            tokenizer.IdToToken(tokenizer.BosId)!, tokenizer.IdToToken(tokenizer.EosId)!);
    }
}
