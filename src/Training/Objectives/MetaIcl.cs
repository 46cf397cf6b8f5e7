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
        var last = new int[batch.Batch];
        for (int b = 0; b < batch.Batch; b++) last[b] = batch.Demonstrations(b);
        var weights = TokenWeighted.MeanOver(batch, t => batch.DemoIds[t] > 0 && batch.DemoIds[t] == last[t / batch.Seq]);
        var nll = TokenWeighted.Pass(model, batch, backward, _ => weights);
        return new LossReport(TokenWeighted.Dot(weights, nll), new Dictionary<string, float[]> { ["token_nll"] = nll });
    }
}
