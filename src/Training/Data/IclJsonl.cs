using System.Text.Json;

namespace DrICL.Training.Data;

/// <summary>
/// ICL-50 JSONL: one record per line,
/// <c>{"id": …, "messages": [{"role": "user", "content": …, "loss": 0}, {"role": "assistant", "content": …, "loss": 1}, …], "resource": TASK, "len": N}</c>.
/// Required: <c>id</c> (string, or an integer read as its decimal text), <c>messages</c>, <c>resource</c>; <c>len</c> is optional.
/// Every message needs <c>role</c>, <c>content</c> and <c>loss</c>; the loss must be 0 on user and 1 on assistant
/// turns, because the episode layout supervises exactly the answers. Other fields are ignored.
/// </summary>
public static class IclJsonl
{
    public static JsonlReadResult<IclRecord> Read(string path, JsonlReadMode mode) => JsonlFile.Read(path, mode, (root, _) => Parse(root));

    public static JsonlReadResult<IclRecord> Read(TextReader reader, string fileName, JsonlReadMode mode) =>
        JsonlFile.Read(reader, fileName, mode, (root, _) => Parse(root));

    public static void Write(string path, IEnumerable<IclRecord> records) => JsonlFile.Write(path, records, WriteRecord);

    public static void Write(TextWriter writer, IEnumerable<IclRecord> records) => JsonlFile.Write(writer, records, WriteRecord);

    static IclRecord Parse(JsonElement root)
    {
        JsonFields.Object(root, "record");
        var idElement = JsonFields.Required(root, "id", "record");
        string id = idElement.ValueKind switch
        {
            JsonValueKind.String => idElement.GetString()!,
            JsonValueKind.Number when idElement.TryGetInt64(out long number) => number.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new JsonRecordException($"record: field \"id\" must be a string or an integer, got {idElement.GetRawText()}"),
        };
        string where = $"record {id}";
        var messageArray = JsonFields.Array(root, "messages", where);
        string resource = JsonFields.NonEmptyString(root, "resource", where);
        int? len = root.TryGetProperty("len", out var lenElement) ? JsonFields.Int(lenElement, "len", where) : null;

        var messages = new List<IclMessage>();
        int index = 0;
        foreach (var element in messageArray.EnumerateArray())
        {
            string at = $"{where}: messages[{index++}]";
            JsonFields.Object(element, at);
            string roleName = JsonFields.String(element, "role", at);
            var role = roleName switch
            {
                "user" => IclRole.User,
                "assistant" => IclRole.Assistant,
                _ => throw new JsonRecordException($"{at}: unknown role \"{roleName}\" (expected \"user\" or \"assistant\")"),
            };
            string content = JsonFields.String(element, "content", at);
            int loss = JsonFields.Int(JsonFields.Required(element, "loss", at), "loss", at);
            int expectedLoss = role == IclRole.Assistant ? 1 : 0;
            if (loss != expectedLoss)
                throw new JsonRecordException($"{at}: {roleName} turn has loss {loss}; the episode layout supervises every assistant answer and no user turn (expected {expectedLoss})");
            messages.Add(new IclMessage(role, content));
        }

        var record = new IclRecord(id, messages, resource, len);
        if (record.StructureProblem() is { } problem) throw new JsonRecordException($"{where}: {problem}");
        return record;
    }

    static void WriteRecord(Utf8JsonWriter json, IclRecord record)
    {
        if (record.StructureProblem() is { } problem) throw new ArgumentException($"cannot write ICL record {record.Id}: {problem}");
        json.WriteStartObject();
        json.WriteString("id", record.Id);
        json.WriteStartArray("messages");
        foreach (var message in record.Messages)
        {
            json.WriteStartObject();
            json.WriteString("role", IclRecord.RoleName(message.Role));
            json.WriteString("content", message.Content);
            json.WriteNumber("loss", message.Role == IclRole.Assistant ? 1 : 0);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("resource", record.Resource);
        if (record.Len is int len) json.WriteNumber("len", len);
        json.WriteEndObject();
    }
}
