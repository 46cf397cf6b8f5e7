namespace DrICL.Kernels.Profiling;

/// <summary>
/// Collects the slices of one profile: ranges opened through Profiler and ops reported by ProfiledDevice,
/// each as two timer marks. Marks are resolved to times only when the outermost range closes (the end of a
/// step) or the profile ends, so a GPU timer never has to wait inside a step; the resolved slices then go to
/// the trace file and are dropped, so memory stays at one step's worth.
/// </summary>
public sealed class ProfileRecorder
{
    /// <summary>Slices recorded outside any range are written out once this many are waiting.</summary>
    const int MaxPending = 1 << 16;

    readonly IDeviceTimer timer;
    readonly TraceWriter writer;
    readonly List<Slice> pending = [];
    readonly List<(Slice Slice, ModuleScope? Module, bool Replayed)> open = [];
    ModuleScope? scope;
    bool finished;

    internal ProfileRecorder(IDeviceTimer timer, TraceWriter writer)
    {
        this.timer = timer;
        this.writer = writer;
    }

    public string TimerName => timer.Name;

    internal int Begin(string name, int index, bool module)
    {
        var slice = new Slice(name, index, timer.Mark());
        pending.Add(slice);
        ModuleScope? node = null;
        if (module) scope = node = new ModuleScope(name, index, scope);
        open.Add((slice, node, false));
        return open.Count - 1;
    }

    internal void End(int depth)
    {
        if (finished || depth >= open.Count) return;
        Close(depth, timer.Mark());
        if (open.Count == 0) Flush();
    }

    /// <summary>A backward step that reopens the module the forward pass was in when the step was recorded.</summary>
    public Action InScope(Action backward)
    {
        var recordedIn = scope;
        return () =>
        {
            Replay(recordedIn);
            backward();
        };
    }

    internal long Mark() => timer.Mark();

    internal void Op(string name, long begin, OpCost cost, string[] names, int[][] shapes, string? detail = null)
    {
        if (finished) return;
        pending.Add(new Slice(name, -1, begin) { End = timer.Mark(), Op = new OpCall(cost, names, shapes, detail) });
        for (int i = 0; i < open.Count; i++) open[i].Slice.Add(cost);   // each open range totals the ops inside it
        if (open.Count == 0 && pending.Count >= MaxPending) Flush();
    }

    /// <summary>Closes whatever is still open (a run that stopped early) and writes the rest of the trace.</summary>
    internal void Finish()
    {
        if (finished) return;
        if (open.Count > 0) Close(0, timer.Mark());
        Flush();
        finished = true;
    }

    // Makes the replayed modules on top of the stack match target's chain: close what differs, open the rest.
    void Replay(ModuleScope? target)
    {
        if (finished) return;
        int bottom = open.Count;
        while (bottom > 0 && open[bottom - 1].Replayed) bottom--;
        var chain = new List<ModuleScope>();
        for (var m = target; m is not null; m = m.Parent) chain.Add(m);
        chain.Reverse();
        int common = 0;
        while (common < chain.Count && bottom + common < open.Count && ReferenceEquals(open[bottom + common].Module, chain[common])) common++;
        if (common == chain.Count && bottom + common == open.Count) return;
        long mark = timer.Mark();
        Close(bottom + common, mark);
        for (int i = common; i < chain.Count; i++)
        {
            var slice = new Slice(chain[i].Name, chain[i].Index, mark);
            pending.Add(slice);
            open.Add((slice, chain[i], true));
        }
    }

    void Close(int depth, long mark)
    {
        while (open.Count > depth)
        {
            var (slice, module, replayed) = open[^1];
            open.RemoveAt(open.Count - 1);
            slice.End = mark;
            if (module is not null && !replayed) scope = module.Parent;
        }
    }

    void Flush()
    {
        if (pending.Count == 0) return;
        var marks = new long[2 * pending.Count];
        for (int i = 0; i < pending.Count; i++) (marks[2 * i], marks[2 * i + 1]) = (pending[i].Begin, pending[i].End);
        var times = new double[marks.Length];
        timer.Resolve(marks, times);
        for (int i = 0; i < pending.Count; i++) writer.Slice(pending[i], times[2 * i], times[2 * i + 1]);
        writer.Flush();
        pending.Clear();
    }

    internal sealed class Slice(string name, int index, long begin)
    {
        public string Name { get; } = name;
        public int Index { get; } = index;
        public long Begin { get; } = begin;
        public long End { get; set; }
        public OpCall? Op { get; init; }
        /// <summary>A range's total over the ops inside it.</summary>
        public OpCost Total { get; private set; }
        public void Add(OpCost cost) => Total = new OpCost(Total.Flops + cost.Flops, Total.Bytes + cost.Bytes);
        public string DisplayName => Index < 0 ? Name : $"{Name} {Index}";
    }

    internal sealed record OpCall(OpCost Cost, string[] Names, int[][] Shapes, string? Detail);
}
