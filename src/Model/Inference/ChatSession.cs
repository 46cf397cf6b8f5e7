using DrICL.Model.Tokenization;

namespace DrICL.Model.Inference;

/// <summary>
/// A conversation with a model under its chat template, kept as token ids: each user turn is the template's
/// text for that turn (rendered after the history), encoded; each assistant turn is exactly the ids the model
/// produced, closed with the template's end of turn (Llama 3's &lt;|eot_id|&gt;, else EOS) when it stopped for another
/// reason than one of stopIds (StopTokens). The DecodeSession keeps the KV cache of the
/// whole history, so a turn prefills only its own tokens. When the history no longer fits the context the
/// oldest turns are dropped (then the cache is rebuilt once, since every position moves).
/// </summary>
public sealed class ChatSession(DecodeSession session, BpeTokenizer tokenizer, ChatTemplate template, string? system, IReadOnlySet<int> stopIds)
{
    readonly int endOfTurn = template.Format == ChatFormat.Llama3
        ? tokenizer.TokenToId(StopTokens.EndOfTurn) ?? throw new ArgumentException($"the Llama 3 chat template needs {StopTokens.EndOfTurn}, which the tokenizer lacks")
        : tokenizer.EosId;

    sealed record Turn(string User, string Assistant, int[] AssistantIds);

    readonly List<Turn> turns = [];

    public DecodeSession Session => session;

    /// <summary>Forgets the conversation (the system message stays).</summary>
    public void Reset() => turns.Clear();

    /// <summary>
    /// Sends a user message and yields the reply's ids as they are sampled (at most maxNewTokens, ending
    /// at a stop id). notice receives a line for each dropped turn. Throws ArgumentException when the message
    /// alone does not fit the context.
    /// </summary>
    public IEnumerable<int> Send(string user, int maxNewTokens, Sampler sampler, Action<string> notice)
    {
        int context = session.Model.Context;
        int[] ids = Encode(user);
        while (ids.Length + maxNewTokens > context && turns.Count > 0)
        {
            turns.RemoveAt(0);
            notice($"the conversation no longer fits the context of {context} tokens: dropped the oldest turn ({turns.Count} left)");
            ids = Encode(user);
        }
        if (ids.Length >= context) throw new ArgumentException($"the message is {ids.Length} tokens with the template, more than the context of {context} leaves room for");
        var reply = new List<int>();
        foreach (int id in session.Generate(ids, Math.Min(maxNewTokens, context - ids.Length), sampler, stopIds, cacheLast: true))
        {
            reply.Add(id);
            yield return id;
        }
        bool stopped = reply.Count > 0 && stopIds.Contains(reply[^1]);
        string text = tokenizer.Decode(stopped ? reply[..^1].ToArray() : reply.ToArray(), skipSpecialTokens: true);
        if (!stopped)
        {
            reply.Add(endOfTurn);
            if (session.Cached.Count < context) session.Append(endOfTurn);
        }
        turns.Add(new Turn(user, text, reply.ToArray()));
    }

    // The ids of the history followed by a new user message, as the template renders them.
    int[] Encode(string user)
    {
        var messages = new List<ChatMessage>();
        if (system is not null) messages.Add(new ChatMessage("system", system));
        var ids = new List<int>();
        int rendered = 0;
        void AddUser(string text)
        {
            messages.Add(new ChatMessage("user", text));
            string full = template.Render(messages, addGenerationPrompt: true).Text;
            ids.AddRange(tokenizer.Encode(full[rendered..]).Ids);
        }
        foreach (var turn in turns)
        {
            AddUser(turn.User);
            messages.Add(new ChatMessage("assistant", turn.Assistant));
            ids.AddRange(turn.AssistantIds);
            rendered = template.Render(messages).Text.Length;
        }
        AddUser(user);
        return ids.ToArray();
    }
}
