using System.Text.Json;

namespace DrICL.Training.Data;

/// <summary>Typed access to JSON object fields that fails with a <see cref="JsonRecordException"/> naming the field.</summary>
internal static class JsonFields
{
    public static JsonElement Object(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new JsonRecordException($"{where}: expected an object, got {Describe(element)}");
        return element;
    }

    public static JsonElement Required(JsonElement obj, string name, string where)
    {
        if (!obj.TryGetProperty(name, out var value))
            throw new JsonRecordException($"{where}: missing field \"{name}\"");
        return value;
    }

    public static string String(JsonElement obj, string name, string where)
    {
        var value = Required(obj, name, where);
        if (value.ValueKind != JsonValueKind.String)
            throw new JsonRecordException($"{where}: field \"{name}\" must be a string, got {Describe(value)}");
        return value.GetString()!;
    }

    public static string NonEmptyString(JsonElement obj, string name, string where)
    {
        string value = String(obj, name, where);
        if (value.Length == 0) throw new JsonRecordException($"{where}: field \"{name}\" is empty");
        return value;
    }

    public static int Int(JsonElement value, string name, string where)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int result))
            throw new JsonRecordException($"{where}: field \"{name}\" must be an integer, got {Describe(value)}");
        return result;
    }

    public static JsonElement Array(JsonElement obj, string name, string where)
    {
        var value = Required(obj, name, where);
        if (value.ValueKind != JsonValueKind.Array)
            throw new JsonRecordException($"{where}: field \"{name}\" must be an array, got {Describe(value)}");
        return value;
    }

    static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Shorten(element.GetString()!)}\"",
        JsonValueKind.Object or JsonValueKind.Array => $"an {element.ValueKind.ToString().ToLowerInvariant()}",
        _ => element.GetRawText(),
    };

    static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
