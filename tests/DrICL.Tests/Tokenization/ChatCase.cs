using System.Text.Json;
using DrICL.Model.Tokenization;

namespace DrICL.Tests.Tokenization;

/// <summary>One golden chat render: template name, add_generation_prompt (false when absent), messages, rendered text and its ids.</summary>
public sealed record ChatCase(string Template, bool GenerationPrompt, ChatMessage[] Messages, string Rendered, int[] Ids)
{
    public override string ToString() => $"{Template}: {Messages.Length} messages{(GenerationPrompt ? ", generation prompt" : "")}";

    public static List<ChatCase> Read(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => new ChatCase(
                c.GetProperty("template").GetString()!,
                c.TryGetProperty("add_generation_prompt", out var prompt) && prompt.GetBoolean(),
                c.GetProperty("messages").EnumerateArray()
                    .Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToArray(),
                c.GetProperty("rendered").GetString()!,
                c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))
            .ToList();
    }
}
