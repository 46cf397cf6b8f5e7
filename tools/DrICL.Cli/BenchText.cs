using System.Text;

namespace DrICL.Cli;

/// <summary>
/// Deterministic English-like prose for throughput benchmarks: seeded random sentences over common words,
/// with punctuation, numbers, quotes and some non-ASCII (accents, CJK, emoji), so that runs are comparable
/// across machines and commits without shipping a corpus.
/// </summary>
public static class BenchText
{
    private static readonly string[] Words = (
        "the of and to in a is that for it as was with be by on not he I this are or his from at which but have an " +
        "they you were her she there one all we their been has when who will more no if out so said what up its about " +
        "into than them can only other new some could time these two may then do first any my now such like our over " +
        "man me even most made after also did many before must through back years where much your way well down should " +
        "because each just those people how too little state good very make world still own see men work long get here " +
        "between both life being under never day same another know while last might us great old year off come since " +
        "against go came right used take three model training language token sequence attention example answer question " +
        "learning demonstration context window memory gradient loss weight layer inference evaluation dataset benchmark " +
        "tokenizer vocabulary probability distribution sentence paragraph structure information government development " +
        "international community relationship environment particularly responsibility understanding").Split(' ');

    private static readonly string[] Rare =
    [
        "café", "naïve", "Zürich", "résumé", "façade", "Ångström", "São Paulo", "Kraków", "Dvořák", "fiancée",
        "東京", "北京大学", "😊", "🚀", "—", "“quoted”", "it’s", "don't", "e.g.", "(see below)", "[1]", "x²", "€12", "±0.5",
    ];

    public static string Generate(int bytes, ulong seed)
    {
        var rng = new SplitMix64(seed);
        var text = new StringBuilder(bytes + 256);
        int utf8 = 0;
        while (utf8 < bytes)
        {
            int sentences = 3 + rng.Next(6);
            for (int s = 0; s < sentences; s++)
            {
                int words = 5 + rng.Next(14);
                for (int w = 0; w < words; w++)
                {
                    string word = rng.Next(40) switch
                    {
                        0 => Number(ref rng),
                        1 => Rare[rng.Next(Rare.Length)],
                        _ => Words[rng.Next(Words.Length)],
                    };
                    if (w == 0) word = char.ToUpperInvariant(word[0]) + word[1..];
                    if (w > 0) Append(" ");
                    Append(word);
                    if (w + 1 < words && rng.Next(8) == 0) Append(rng.Next(6) == 0 ? ";" : ",");
                }
                Append(rng.Next(12) switch { 0 => "?", 1 => "!", _ => "." });
                if (s + 1 < sentences) Append(" ");
            }
            Append(rng.Next(5) == 0 ? "\n" : "\n\n");
        }
        return text.ToString();

        void Append(string s)
        {
            text.Append(s);
            utf8 += Encoding.UTF8.GetByteCount(s);
        }
    }

    private static string Number(ref SplitMix64 rng) => rng.Next(5) switch
    {
        0 => (1900 + rng.Next(130)).ToString(System.Globalization.CultureInfo.InvariantCulture),
        1 => $"{rng.Next(100)}.{rng.Next(100):D2}",
        2 => $"{rng.Next(10)},{rng.Next(1000):D3}",
        3 => $"{rng.Next(100)}%",
        _ => rng.Next(20).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private struct SplitMix64(ulong state)
    {
        public int Next(int bound)
        {
            state += 0x9E3779B97F4A7C15UL;
            ulong z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return (int)((z ^ (z >> 31)) % (ulong)bound);
        }
    }
}
