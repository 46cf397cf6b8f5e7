namespace DrICL.Model.Inference;

/// <summary>
/// Watches streamed text for stop strings. Push returns what may be shown: the text before a stop string
/// once one completes (then Stopped is set), otherwise everything except a tail that could still grow
/// into a stop string. Flush returns that held-back tail when the stream ends without one.
/// </summary>
public sealed class StopStrings(IReadOnlyList<string> stops)
{
    string pending = "";

    public bool Stopped { get; private set; }

    public string Push(string delta)
    {
        if (Stopped) return "";
        pending += delta;
        int at = -1;
        foreach (var s in stops)
        {
            int i = pending.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (at < 0 || i < at)) at = i;
        }
        if (at >= 0)
        {
            Stopped = true;
            string shown = pending[..at];
            pending = "";
            return shown;
        }
        int hold = 0;
        foreach (var s in stops)
            for (int len = Math.Min(s.Length - 1, pending.Length); len > hold; len--)
                if (pending.AsSpan(pending.Length - len).SequenceEqual(s.AsSpan(0, len))) { hold = len; break; }
        string ready = pending[..^hold];
        pending = pending[^hold..];
        return ready;
    }

    public string Flush()
    {
        string rest = Stopped ? "" : pending;
        pending = "";
        return rest;
    }
}
