namespace DrICL.Training.Synthetic;

/// <summary>A named group of short words that share a meaning (a word belongs to exactly one category).</summary>
public sealed record WordCategory(string Name, IReadOnlyList<string> Words);

/// <summary>
/// The fixed words of the word-based families: short (3–4 letters) so that many demonstrations fit in a small
/// byte-level context, lowercase ASCII, no word in two categories.
/// </summary>
public static class Lexicon
{
    /// <summary>Eight categories of eight words. The categories never change: they are world knowledge a model can
    /// learn in its weights, while which category gets which label is decided per episode.</summary>
    public static IReadOnlyList<WordCategory> Categories { get; } =
    [
        new("animal", ["cat", "dog", "cow", "pig", "fox", "owl", "bee", "yak"]),
        new("color", ["red", "blue", "tan", "pink", "gray", "gold", "teal", "navy"]),
        new("fruit", ["fig", "pear", "plum", "kiwi", "date", "lime", "sloe", "yuzu"]),
        new("body", ["arm", "leg", "toe", "eye", "ear", "lip", "hip", "jaw"]),
        new("tool", ["saw", "axe", "awl", "hoe", "rake", "vise", "file", "adze"]),
        new("number", ["one", "two", "six", "ten", "four", "five", "nine", "zero"]),
        new("weather", ["rain", "snow", "hail", "fog", "wind", "mist", "gale", "haze"]),
        new("vehicle", ["car", "bus", "van", "cab", "ship", "jet", "tram", "sled"]),
    ];

    /// <summary>Every category word, category by category.</summary>
    public static IReadOnlyList<string> Words { get; } = [.. Categories.SelectMany(category => category.Words)];

    /// <summary>Subjects of the two-word sentences of the summarization family.</summary>
    public static IReadOnlyList<string> Nouns { get; } =
        ["cat", "dog", "owl", "fox", "sun", "sky", "sea", "map", "cup", "hat", "bus", "car",
         "pig", "cow", "bee", "ant", "egg", "jar", "pen", "box", "bag", "toy", "kid", "elf"];

    /// <summary>Verbs of the two-word sentences of the summarization family.</summary>
    public static IReadOnlyList<string> Verbs { get; } = ["ran", "sat", "hid", "ate", "dug", "saw", "fed", "won", "met", "led", "got", "lit"];
}
