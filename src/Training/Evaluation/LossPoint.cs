using System.Text.Json;
using System.Text.Json.Serialization;

namespace DrICL.Training.Evaluation;

/// <summary>A training loss at an optimizer step; JSON as the pair [step, loss].</summary>
[JsonConverter(typeof(LossPointJsonConverter))]
public readonly record struct LossPoint(long Step, double Loss);

sealed class LossPointJsonConverter : JsonConverter<LossPoint>
{
    public override LossPoint Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("a loss point is a [step, loss] array");
        reader.Read();
        long step = reader.GetInt64();
        reader.Read();
        double loss = reader.GetDouble();
        reader.Read();
        if (reader.TokenType != JsonTokenType.EndArray) throw new JsonException("a loss point has exactly two numbers, [step, loss]");
        return new LossPoint(step, loss);
    }

    public override void Write(Utf8JsonWriter writer, LossPoint value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(value.Step);
        writer.WriteNumberValue(value.Loss);
        writer.WriteEndArray();
    }
}
