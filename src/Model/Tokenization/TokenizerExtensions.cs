using Microsoft.ML.Tokenizers;

namespace DrICL.Model.Tokenization;

/// <summary>
/// What the engine asks of any Microsoft.ML.Tokenizers tokenizer: vocabulary size, BOS/EOS ids, ids with
/// offsets into the original text, and decoding with or without special tokens. The engine's own tokenizers
/// (EngineTokenizer) answer directly; Microsoft.ML.Tokenizers' SentencePiece (LlamaTokenizer) and Tiktoken
/// tokenizers are answered from their own members. SentencePiece normalizes by prepending '▁' and replacing
/// spaces one for one, so its offsets into the normalized text shift back by the prepended length.
/// </summary>
public static class TokenizerExtensions
{
    extension(Tokenizer tokenizer)
    {
        public int VocabSize => tokenizer switch
        {
            EngineTokenizer e => e.VocabSize,
            SentencePieceTokenizer s => s.Vocabulary.Values.Max() + 1,
            // Tiktoken files number their special tokens after every rank (Llama 3: 128000..128255), and the ranks are not public.
            TiktokenTokenizer t when t.SpecialTokens is { Count: > 0 } specials => specials.Values.Max() + 1,
            _ => throw Unsupported(tokenizer),
        };

        public int BosId => tokenizer switch
        {
            EngineTokenizer e => e.BosId,
            SentencePieceTokenizer s => s.BeginningOfSentenceId,
            TiktokenTokenizer t => Special(t, "<|begin_of_text|>", "<|endoftext|>"),
            _ => throw Unsupported(tokenizer),
        };

        public int EosId => tokenizer switch
        {
            EngineTokenizer e => e.EosId,
            SentencePieceTokenizer s => s.EndOfSentenceId,
            TiktokenTokenizer t => Special(t, "<|end_of_text|>", "<|endoftext|>"),
            _ => throw Unsupported(tokenizer),
        };

        /// <summary>Ids of the text, with BOS/EOS when asked, and each token's offset in the original text.</summary>
        public TokenizedText Encode(string text, bool addBos = false, bool addEos = false)
        {
            if (tokenizer is EngineTokenizer engine) return engine.Encode(text, addBos, addEos);
            var tokens = tokenizer.EncodeToTokens(text, out string? normalized);
            int shift = normalized is null ? 0 : Math.Max(0, normalized.Length - text.Length);
            var ids = new List<int>(tokens.Count + 2);
            var offsets = new List<int>(tokens.Count + 2);
            if (addBos) { ids.Add(tokenizer.BosId); offsets.Add(0); }
            foreach (var t in tokens)
            {
                ids.Add(t.Id);
                offsets.Add(Math.Clamp(t.Offset.Start.GetOffset(normalized?.Length ?? text.Length) - shift, 0, text.Length));
            }
            if (addEos) { ids.Add(tokenizer.EosId); offsets.Add(text.Length); }
            return new TokenizedText([.. ids], [.. offsets]);
        }

        /// <summary>The text of ids; skipSpecialTokens drops BOS and EOS (and, for the engine's tokenizers, every special token).</summary>
        public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
        {
            if (tokenizer is EngineTokenizer engine) return engine.Decode(ids, skipSpecialTokens);
            int bos = tokenizer.BosId, eos = tokenizer.EosId;
            var kept = new List<int>(ids.Length);
            foreach (int id in ids)
                if (!skipSpecialTokens || (id != bos && id != eos)) kept.Add(id);
            return tokenizer.Decode(kept) ?? "";
        }
    }

    private static int Special(TiktokenTokenizer t, string name, string fallback) =>
        t.SpecialTokens is { } specials && (specials.TryGetValue(name, out int id) || specials.TryGetValue(fallback, out id))
            ? id
            : throw new InvalidOperationException($"the tiktoken tokenizer has neither {name} nor {fallback} among its special tokens");

    private static NotSupportedException Unsupported(Tokenizer tokenizer) =>
        new($"{tokenizer.GetType().Name} is not a tokenizer the engine can use (supported: the engine's own, SentencePiece, Tiktoken)");
}
