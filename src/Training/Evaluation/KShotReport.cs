using System.Text.Json;
using System.Text.Json.Nodes;

namespace DrICL.Training.Evaluation;

/// <summary>
/// The evaluation results of a run, serialized with snake_case names:
/// {"objectives": {"dricl": {"k": [...], "tasks": {"name": {"k": [...], "mean": [...], "spread": [...], "seeds": [...]}},
///   "average": {"k", "task_count", "mean", "spread", "seeds"}, "stability": {"std_across_k", "best_k", "best_mean", "largest_k", "mean_at_largest_k",
///   "drop_from_best"}, "train_loss": [[step, loss], ...]}, ...}, "meta": {...}}
/// </summary>
public sealed class KShotReport
{
    static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>In the order objectives were first recorded.</summary>
    public required Dictionary<string, KShotCurve> Objectives { get; init; }
    public JsonObject Meta { get; init; } = [];

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static KShotReport FromJson(string json) =>
        JsonSerializer.Deserialize<KShotReport>(json, JsonOptions) ?? throw new JsonException("the report JSON is null.");
}
