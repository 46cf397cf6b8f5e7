using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.ManyShot;

/// <summary>
/// The answers a single-token family can give at the study's difficulty (<see cref="SyntheticSuite.MaxDifficulty"/>),
/// one byte token each: scoring picks the most likely of them from the logits at the answer position, the ranking
/// evaluation MetaICL uses for classification, instead of generating (one forward pass per item, no decoding).
/// Cipher and extract answer with several tokens and are not in the study.
/// </summary>
/// <remarks>
/// <see cref="Studied"/> keeps the families the study's small model may learn in context at its budget: in 600-step
/// trial runs (2 layers, d=64, 2 x 1024 tokens a step, on all six single-token families or four of them, 32 items
/// per seed) only prototype, feature-rule and label-map rose above their k=0 score; linear-sign, pair-metric and
/// cluster stayed at chance at every k. Scored on 128 items per seed, feature-rule and label-map rise and prototype
/// does not.
/// </remarks>
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

    /// <summary>The families the study trains on and scores (see the remarks).</summary>
    public static readonly string[] Studied = ["prototype", "feature-rule", "label-map"];

    /// <summary>The studied families of the suite, in suite order.</summary>
    public static IReadOnlyList<ISyntheticFamily> Families(SyntheticSuite suite) => [.. suite.Families.Where(f => Studied.Contains(f.Name))];

    /// <summary>The byte tokens of <paramref name="family"/>'s possible answers.</summary>
    public static int[] Tokens(string family) =>
        ByFamily.TryGetValue(family, out var choices) ? [.. choices.Select(Token)]
            : throw new ArgumentException($"family '{family}' has no single-token answers");

    /// <summary>The byte token of a one-character answer.</summary>
    public static int Token(char answer) => answer < 128 ? ByteTokenizer.ByteOffset + answer
        : throw new ArgumentException($"answer '{answer}' is not one byte");
}
