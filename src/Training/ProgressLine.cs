namespace DrICL.Training;

/// <summary>
/// A one-line progress bar (step, loss, tokens/s, ETA) redrawn in place on a terminal; when output is
/// redirected (CI, logs) it prints a plain line every tenth of the run instead.
/// </summary>
public sealed class ProgressLine(int totalSteps, int startStep)
{
    readonly bool terminal = !Console.IsErrorRedirected;
    int lastPrinted = -1;

    public void Report(StepRecord r)
    {
        double perStep = r.ElapsedSeconds / Math.Max(1, r.Step - startStep);
        var eta = TimeSpan.FromSeconds(perStep * (totalSteps - r.Step));
        int width = 24, filled = (int)((double)r.Step / totalSteps * width);
        string line = $"[{new string('#', filled)}{new string('.', width - filled)}] step {r.Step}/{totalSteps}  loss {r.Loss:F4}  {r.TokensPerSecond:F0} tok/s  ETA {eta:mm\\:ss}";
        if (terminal) Console.Error.Write("\r" + line);
        else if (r.Step * 10 / totalSteps != lastPrinted || r.Step == totalSteps)
        {
            lastPrinted = r.Step * 10 / totalSteps;
            Console.Error.WriteLine(line);
        }
    }

    public void Finish()
    {
        if (terminal) Console.Error.WriteLine();
    }
}
