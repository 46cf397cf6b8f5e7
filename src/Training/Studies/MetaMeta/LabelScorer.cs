using DrICL.Model;
using DrICL.Model.Autograd;
using DrICL.Training.Data;
using DrICL.Training.Synthetic;

namespace DrICL.Training.Studies.MetaMeta;

/// <summary>
/// Scores a model on validation items whose answers are single tokens: the model's answer is the <see cref="AnswerRanking"/>
/// best label at the position that predicts the answer (the last prompt token), in one forward pass per batch of items
/// instead of a generation per item. Items are laid out as the training episodes are, in at most <c>seq</c> tokens
/// (leading demonstrations dropped when they do not fit), and batched right-padded: causal attention keeps padding out.
/// </summary>
public static class LabelScorer
{
    const int BatchRows = 32;

    /// <summary>1 where the model's label is the query's answer, 0 elsewhere, per item.</summary>
    public static double[] Score(Transformer model, MetaMetaDomain domain, IReadOnlyList<ValidationItem> items, int seq)
    {
        var builder = new EpisodeBuilder(new ByteTokenizer(), SyntheticSuite.Template);
        var labelIds = domain.Labels.Select(LabelToken).ToArray();
        var scores = new double[items.Count];
        for (int start = 0; start < items.Count; start += BatchRows)
        {
            var prompts = items.Skip(start).Take(BatchRows).Select(item =>
            {
                var episode = builder.Build(new EpisodeContent(item.Instruction,
                    [.. item.Demonstrations.Select(SyntheticSuite.Template.Render), SyntheticSuite.Template.Render(item.Query)]), seq);
                return episode.InputIds[..episode.Query.TokenStart];
            }).ToArray();
            int width = prompts.Max(prompt => prompt.Length), rows = prompts.Length;
            var ids = new int[rows * width];
            var positions = new int[rows * width];
            for (int r = 0; r < rows; r++)
                for (int t = 0; t < prompts[r].Length; t++) (ids[r * width + t], positions[r * width + t]) = (prompts[r][t], t);
            var logits = model.Forward(Tape.NoGrad(model.Device), ids, positions, rows, width).Value.ToArray();   // logits: [rows*width, V]
            int vocab = model.Config.VocabSize;
            for (int r = 0; r < rows; r++)
            {
                int best = AnswerRanking.Best(logits.AsSpan((r * width + prompts[r].Length - 1) * vocab, vocab), labelIds);
                scores[start + r] = domain.Labels[best] == items[start + r].Query.Output ? 1 : 0;
            }
        }
        return scores;
    }

    static int LabelToken(string label) => label.Length == 1 && label[0] < 128
        ? ByteTokenizer.ByteOffset + label[0]
        : throw new ArgumentException($"label \"{label}\" is not one ASCII character, so not one byte token");
}
