namespace DrICL.Model.Tokenization;

// The parts of a Hugging Face tokenizer.json that the two BPE families use (SentencePiece-style and
// byte-level), as read by TokenizerJson. Plain data: BpeTokenizer turns it into the runtime tables.

internal sealed record TokenizerSpec(
    BpeModelSpec Model,
    IReadOnlyList<NormalizerStep> Normalizer,
    PreTokenizerSpec? PreTokenizer,
    IReadOnlyList<AddedTokenSpec> AddedTokens,
    TemplateSpec? Template,
    IReadOnlyList<DecoderStepSpec> Decoder,
    char? Metaspace);

internal sealed record BpeModelSpec(
    Dictionary<string, int> Vocab,
    IReadOnlyList<(string Left, string Right)> Merges,
    bool ByteFallback,
    string? UnkToken,
    bool FuseUnk,
    bool IgnoreMerges);

internal sealed record AddedTokenSpec(
    int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized);

internal abstract record NormalizerStep;
internal sealed record PrependNormalizer(string Prepend) : NormalizerStep;
internal sealed record ReplaceNormalizer(string Pattern, string Content) : NormalizerStep;

internal enum PrependScheme { First, Always, Never }

internal abstract record PreTokenizerSpec;

/// <summary>Metaspace pre-tokenizer: spaces become <c>Replacement</c>, which is prepended per <c>Prepend</c>; <c>Split</c> cuts words before each one.</summary>
internal sealed record MetaspaceSpec(char Replacement, PrependScheme Prepend, bool Split) : PreTokenizerSpec;

/// <summary>Byte-level pre-tokenizer: words cut by a split pattern, then each UTF-8 byte written as its GPT-2 stand-in character.</summary>
internal sealed record ByteLevelSpec(SplitPattern Pattern) : PreTokenizerSpec;

/// <summary>TemplateProcessing for a single sequence: at most one special token before <c>$A</c> (BOS) and one after (EOS).</summary>
internal sealed record TemplateSpec(int? Prefix, int? Suffix);

internal abstract record DecoderStepSpec;
internal sealed record ReplaceDecoderSpec(string Pattern, string Content) : DecoderStepSpec;
internal sealed record ByteFallbackDecoderSpec : DecoderStepSpec;
internal sealed record FuseDecoderSpec : DecoderStepSpec;
internal sealed record StripDecoderSpec(string Content, int Start, int Stop) : DecoderStepSpec;
internal sealed record MetaspaceDecoderSpec(string Replacement, PrependScheme Prepend) : DecoderStepSpec;
internal sealed record ByteLevelDecoderSpec : DecoderStepSpec;
