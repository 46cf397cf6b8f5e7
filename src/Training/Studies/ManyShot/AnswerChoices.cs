using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// The answers a single-token family can give at the study's difficulty (<see cref="SyntheticSuite.MaxDifficulty"/>),
/// one byte token each: scoring picks the most likely of them from the logits at the answer position, the ranking
/// evaluation MetaICL uses for classification, instead of generating (one forward pass per item, no decoding).
/// Cipher and extract answer with several tokens and are not in the study.
/// </summary>
public static class AnswerChoices
{
    static readonly Dictionary<string, string> ByFamily = new()
    {
        ["linear-sign"] = "+-",
        ["prototype"] = "ABCD",
        ["pair-metric"] = "yn",
        ["feature-rule"] = "ABC",
        ["label-map"] = "ABCD",
        ["cluster"] = "1234",
    };

    /// <summary>The families the study scores, in suite order.</summary>
    public static IReadOnlyList<ISyntheticFamily> Families(SyntheticSuite suite) => [.. suite.Families.Where(f => ByFamily.ContainsKey(f.Name))];

    /// <summary>The byte tokens of <paramref name="family"/>'s possible answers.</summary>
    public static int[] Tokens(string family) =>
        ByFamily.TryGetValue(family, out var choices) ? [.. choices.Select(Token)]
            : throw new ArgumentException($"family '{family}' has no single-token answers");

    /// <summary>The byte token of a one-character answer.</summary>
    public static int Token(char answer) => answer < 128 ? ByteTokenizer.ByteOffset + answer
        : throw new ArgumentException($"answer '{answer}' is not one byte");
}
