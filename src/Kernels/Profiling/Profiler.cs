namespace DrICL.Kernels.Profiling;

/// <summary>
/// The model-level side of profiling: named ranges that the trainer and the model open around their parts,
/// under which the profiled device's op slices nest in the trace. Off (no profile being recorded) a range
/// costs one static read and a null check, and returns an empty struct: nothing is allocated or timed.
/// <para>
/// Two kinds of range. A phase (step, forward, backward, optimizer) happens once where it is opened. A
/// module (embedding, layer N, attention, mlp, loss) is a part of the model: the autograd tape remembers
/// the module each backward step was recorded in and reopens it while that step runs, so the backward
/// pass shows "backward › layer 3 › mlp" just as the forward shows "forward › layer 3 › mlp".
/// </para>
/// </summary>
public static class Profiler
{
    static ProfileRecorder? active;

    /// <summary>The profile being recorded, or null.</summary>
    public static ProfileRecorder? Active => active;

    /// <summary>A phase: "step 3" with an index, "forward" without.</summary>
    public static ProfileRange Range(string name, int index = -1)
    {
        var recorder = active;
        return recorder is null ? default : new ProfileRange(recorder, recorder.Begin(name, index, module: false));
    }

    /// <summary>A part of the model, reopened around its backward steps.</summary>
    public static ProfileRange Module(string name, int index = -1)
    {
        var recorder = active;
        return recorder is null ? default : new ProfileRange(recorder, recorder.Begin(name, index, module: true));
    }

    internal static void Attach(ProfileRecorder recorder)
    {
        if (Interlocked.CompareExchange(ref active, recorder, null) is not null)
            throw new InvalidOperationException("a profile is already being recorded in this process");
    }

    internal static void Detach(ProfileRecorder recorder) => Interlocked.CompareExchange(ref active, null, recorder);
}

/// <summary>An open range; Dispose closes it (and anything still open inside it).</summary>
public readonly struct ProfileRange(ProfileRecorder? recorder, int depth) : IDisposable
{
    public void Dispose() => recorder?.End(depth);
}

/// <summary>A module as the forward pass entered it: its name and the module it sits in.</summary>
public sealed class ModuleScope(string name, int index, ModuleScope? parent)
{
    public string Name { get; } = name;
    public int Index { get; } = index;
    public ModuleScope? Parent { get; } = parent;
}
