using DrICL.Model;

namespace DrICL.Training.Objectives;

/// <summary>
/// MetaICL: the demonstrations are context, only the last one's answer is trained on. The loss is the token
/// mean of the NLL over the last demonstration of each sequence, pooled over the batch.
/// </summary>
public sealed class MetaIcl : IObjective
{
    public string Name => "metaicl";

    public LossReport Run(Transformer model, TokenBatch batch, bool backward)
    {
        var (count, sequenceOf) = batch.Sequences();
        var last = new int[count];
        for (int t = 0; t < sequenceOf.Length; t++) if (sequenceOf[t] >= 0) last[sequenceOf[t]] = Math.Max(last[sequenceOf[t]], batch.DemoIds[t]);
        var weights = TokenWeighted.MeanOver(batch, t => batch.DemoIds[t] > 0 && batch.DemoIds[t] == last[sequenceOf[t]]);
        var nll = TokenWeighted.Pass(model, batch, backward, _ => weights);
        return new LossReport(TokenWeighted.Dot(weights, nll), new Dictionary<string, float[]> { ["token_nll"] = nll });
    }
}
