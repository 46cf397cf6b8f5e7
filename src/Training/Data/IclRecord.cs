namespace DrICL.Training.Data;

public enum IclRole { User, Assistant }

/// <summary>One turn of an ICL-50 record. The loss flag is implied by the role: user turns 0, assistant turns 1.</summary>
public sealed record IclMessage(IclRole Role, string Content);

/// <summary>
/// One ICL-50 line: a many-shot sequence written as alternating turns. Each (user, assistant) pair is a
/// demonstration, the user turn ending with the output marker ("…\n\nOutput:") and the assistant turn holding the
/// label; the task instruction is written only at the start of the first user turn. <see cref="Len"/> is kept
/// as read (the data set's own length field) and is optional.
/// </summary>
public sealed record IclRecord(string Id, IReadOnlyList<IclMessage> Messages, string Resource, int? Len)
{
    /// <summary>
    /// Null when the turns form demonstrations: a non-empty, even number of turns alternating user then
    /// assistant, none of them empty. Otherwise what is wrong, naming the first offending message.
    /// </summary>
    public string? StructureProblem()
    {
        if (Messages.Count == 0) return "\"messages\" is empty";
        for (int i = 0; i < Messages.Count; i++)
        {
            var expected = i % 2 == 0 ? IclRole.User : IclRole.Assistant;
            if (Messages[i].Role != expected)
                return $"messages[{i}].role is \"{RoleName(Messages[i].Role)}\" but turns must alternate user, assistant (expected \"{RoleName(expected)}\")";
            if (Messages[i].Content.Length == 0) return $"messages[{i}].content is empty";
        }
        if (Messages.Count % 2 != 0) return $"the last turn (messages[{Messages.Count - 1}]) is a user turn without an assistant answer";
        return null;
    }

    public static string RoleName(IclRole role) => role == IclRole.User ? "user" : "assistant";

    /// <summary>
    /// The record as episode text: demonstration k's prompt is user turn k and its answer assistant turn k, joined
    /// by one space unless the user turn already ends, or the answer already starts, with whitespace
    /// ("…Output:" + " " + "positive"). The records hold no separator between demonstrations, so
    /// <paramref name="turnSeparator"/> starts every prompt after the first, as the task template's blank line does
    /// ("" keeps the turns verbatim, with only the EOS between them). The instruction is split off the first user turn
    /// when the other user turns share a common start (the input marker) that occurs exactly once in the first turn,
    /// after some text: that text is the instruction. Otherwise the instruction is empty and stays inside the first
    /// demonstration.
    /// </summary>
    public EpisodeContent ToEpisodeContent(string turnSeparator = "\n\n")
    {
        if (StructureProblem() is { } problem) throw new InvalidOperationException($"ICL record {Id}: {problem}");
        var users = new List<string>();
        var demonstrations = new List<Demonstration>();
        for (int i = 0; i < Messages.Count; i += 2)
        {
            string user = Messages[i].Content, answer = Messages[i + 1].Content;
            users.Add(user);
            bool joined = char.IsWhiteSpace(user[^1]) || char.IsWhiteSpace(answer[0]);
            demonstrations.Add(new Demonstration((i == 0 ? "" : turnSeparator) + user + (joined ? "" : " "), answer));
        }
        int instructionLength = InstructionLength(users);
        demonstrations[0] = demonstrations[0] with { Prompt = demonstrations[0].Prompt[instructionLength..] };
        return new EpisodeContent(users[0][..instructionLength], demonstrations);
    }

    static int InstructionLength(List<string> users)
    {
        if (users.Count < 2) return 0;
        string marker = users[1];
        foreach (string user in users.Skip(2))
        {
            int common = 0;
            while (common < marker.Length && common < user.Length && marker[common] == user[common]) common++;
            marker = marker[..common];
        }
        // The common start can run into shared input text ("Input: gr…"); shorten it until the first turn has it.
        for (; marker.Length > 0; marker = marker[..^1])
        {
            int at = users[0].IndexOf(marker, StringComparison.Ordinal);
            if (at < 0) continue;
            return at > 0 && users[0].LastIndexOf(marker, StringComparison.Ordinal) == at ? at : 0;
        }
        return 0;
    }
}
