using DrICL.Model.Tokenization;

namespace DrICL.Model.Inference;

/// <summary>
/// The ids that end generation (and a chat reply): the tokenizer's EOS, every eos_token_id of config.json
/// and of generation_config.json (each an integer or a list: Llama 3.1 instruct lists &lt;|end_of_text|&gt;,
/// &lt;|eom_id|&gt; and &lt;|eot_id|&gt;), and &lt;|eot_id|&gt; whenever the tokenizer has it, since Llama 3
/// instruct ends every turn with it while the first release's eos_token is &lt;|end_of_text|&gt;.
/// </summary>
public static class StopTokens
{
    public const string EndOfTurn = "<|eot_id|>";

    /// <param name="folder">the model folder (its generation_config.json is read when present).</param>
    /// <param name="tokenizer">the folder's tokenizer, when one is loaded.</param>
    public static IReadOnlySet<int> For(string folder, ModelConfig config, BpeTokenizer? tokenizer)
    {
        var ids = new HashSet<int> { config.EosTokenId };
        foreach (string file in new[] { "config.json", "generation_config.json" })
        {
            string path = Path.Combine(folder, file);
            if (File.Exists(path)) ids.UnionWith(ModelConfig.LoadEosTokenIds(path));
        }
        if (tokenizer is not null)
        {
            ids.Add(tokenizer.EosId);
            if (tokenizer.TokenToId(EndOfTurn) is int eot) ids.Add(eot);
        }
        return ids;
    }
}
