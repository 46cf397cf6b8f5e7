using System.Text.Encodings.Web;
using System.Text.Json;

namespace DrICL.Training.Data;

/// <summary>What a JSONL reader does with a malformed line.</summary>
public enum JsonlReadMode
{
    /// <summary>Throw a <see cref="JsonlFormatException"/> at the first malformed line.</summary>
    Fatal,
    /// <summary>Leave the line out and record a <see cref="JsonlError"/>; the caller reports them.</summary>
    Skip,
}

/// <summary>One malformed line: where it is (1-based line number) and what is wrong with it.</summary>
public sealed record JsonlError(string File, int Line, string Message)
{
    public override string ToString() => $"{File}:{Line}: {Message}";
}

/// <summary>A malformed JSONL line in <see cref="JsonlReadMode.Fatal"/> mode; the message starts with file:line.</summary>
public sealed class JsonlFormatException(JsonlError error) : Exception(error.ToString())
{
    public JsonlError Error { get; } = error;
}

/// <summary>Thrown by record parsers for a well-formed JSON line that is not a valid record; the reader adds file:line.</summary>
public sealed class JsonRecordException(string message) : Exception(message);

/// <summary>The records read from a JSONL file and, in skip mode, every line left out.</summary>
public sealed record JsonlReadResult<T>(IReadOnlyList<T> Records, IReadOnlyList<JsonlError> Errors)
{
    /// <summary>"N malformed lines" followed by one "file:line: message" per line; empty when there are none.</summary>
    public string ErrorReport() =>
        Errors.Count == 0 ? "" : $"{Errors.Count} malformed line(s):\n" + string.Join("\n", Errors);
}

/// <summary>Line-by-line JSONL reading and writing shared by the ICL-50 records and the task pools.</summary>
public static class JsonlFile
{
    /// <summary>Escapes only what JSON requires, so non-ASCII text stays readable in the files we write.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Parses every non-blank line with <paramref name="parseRecord"/>. Blank lines carry no record and are
    /// passed over; any other line either yields a record or an error naming the file and line.
    /// <paramref name="parseRecord"/> may throw <see cref="JsonRecordException"/> (or <see cref="JsonException"/>) for
    /// an invalid record; it gets the line's root element and the 1-based line number.
    /// </summary>
    public static JsonlReadResult<T> Read<T>(TextReader reader, string fileName, JsonlReadMode mode, Func<JsonElement, int, T> parseRecord)
    {
        var records = new List<T>();
        var errors = new List<JsonlError>();
        int lineNumber = 0;
        for (string? line = reader.ReadLine(); line != null; line = reader.ReadLine())
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? problem;
            try
            {
                using var document = JsonDocument.Parse(line);
                records.Add(parseRecord(document.RootElement, lineNumber));
                continue;
            }
            catch (JsonException e) { problem = "invalid JSON: " + e.Message; }
            catch (JsonRecordException e) { problem = e.Message; }
            catch (InvalidOperationException e) { problem = "invalid text: " + e.Message; } // e.g. a lone UTF-16 surrogate in a string
            var error = new JsonlError(fileName, lineNumber, problem);
            if (mode == JsonlReadMode.Fatal) throw new JsonlFormatException(error);
            errors.Add(error);
        }
        return new JsonlReadResult<T>(records, errors);
    }

    public static JsonlReadResult<T> Read<T>(string path, JsonlReadMode mode, Func<JsonElement, int, T> parseRecord)
    {
        using var reader = new StreamReader(path);
        return Read(reader, path, mode, parseRecord);
    }

    /// <summary>Writes one compact JSON object per line ('\n' line ends, UTF-8 without BOM).</summary>
    public static void Write<T>(TextWriter writer, IEnumerable<T> records, Action<Utf8JsonWriter, T> writeRecord)
    {
        var buffer = new MemoryStream();
        foreach (var record in records)
        {
            buffer.SetLength(0);
            using (var json = new Utf8JsonWriter(buffer, WriterOptions)) writeRecord(json, record);
            writer.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
            writer.Write('\n');
        }
    }

    public static void Write<T>(string path, IEnumerable<T> records, Action<Utf8JsonWriter, T> writeRecord)
    {
        using var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        Write(writer, records, writeRecord);
    }
}
