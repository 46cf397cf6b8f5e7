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
    readonly Option<int> maxTokens = BoundedOption.Create("--max-tokens", 256, 1, int.MaxValue, "most tokens to generate (per reply in chat)");
    readonly Option<float> temperature = BoundedOption.Create("--temperature", 0.8f, 0f, float.MaxValue, "softmax temperature; 0 = greedy");
    readonly Option<int> topK = BoundedOption.Create("--top-k", 0, 0, int.MaxValue, "sample among the k likeliest tokens; 0 = all");
    readonly Option<float> topP = BoundedOption.Create("--top-p", 0.95f, 0f, 1f, "sample from the smallest set of likeliest tokens holding this probability", minExclusive: true);
    readonly Option<ulong> seed = new("--seed") { DefaultValueFactory = _ => 0UL, Description = "sampling seed" };
    readonly Option<string> dtype = BoundedOption.OneOf("--dtype", "bf16", ["bf16", "f32"], "linear weights and KV cache in memory on the cpu: bf16 (weights memory-mapped when the file is bf16) or f32");
    readonly Option<int?> context = BoundedOption.Optional("--context", 1, int.MaxValue, "positions of the KV cache (default: max_position_embeddings, at most 4096)");
    readonly Option<int> threads = BoundedOption.Create("--threads", Environment.ProcessorCount, 1, int.MaxValue, "cpu threads for decoding");

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { model, maxTokens, temperature, topK, topP, seed, dtype, context, threads }) command.Options.Add(o);
    }

    /// <summary>The model's config and the generation options, checked before anything large is read.</summary>
    public (ModelConfig Config, int MaxTokens, SamplingOptions Sampling) Read(ParseResult parse) =>
        (Config(parse), parse.GetValue(maxTokens), new SamplingOptions(parse.GetValue(temperature), parse.GetValue(topK), parse.GetValue(topP), parse.GetValue(seed)));

    public string Folder(ParseResult parse) => parse.GetValue(model)!.FullName;

    public WeightFormat Format(ParseResult parse) => parse.GetValue(dtype) == "bf16" ? WeightFormat.Bf16 : WeightFormat.F32;

    /// <summary>The model folder's config, checked before anything large is read.</summary>
    ModelConfig Config(ParseResult parse)
    {
        string folder = Folder(parse);
        string path = Path.Combine(folder, "config.json");
        if (!File.Exists(path)) throw new CliError($"{folder}: no config.json (expected a Hugging Face model folder)");
        return ModelConfig.Load(path);
    }

    public int Context(ParseResult parse, ModelConfig config) => parse.GetValue(context) ?? Math.Min(config.MaxPositionEmbeddings, 4096);

    public DecodeModel LoadCpuModel(ParseResult parse, ModelConfig config)
    {
        return DecodeModel.Load(Folder(parse), Format(parse), Context(parse, config), parse.GetValue(threads));
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
        return (File.Exists(path) ? ChatTemplateCatalog.TryLoad(path) : null)
            ?? new(config.ModelType == "mistral" ? ChatFormat.Mistral : ChatFormat.Llama2, tokenizer.IdToToken(tokenizer.BosId)!, tokenizer.IdToToken(tokenizer.EosId)!);
    }
}
