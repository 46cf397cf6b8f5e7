// Prefill projections: y_i[T, R_i] = x[T, C] · W_iᵀ for inference weights W_i [R_i, C] as stored (float32 or
// bfloat16, memory-mapped or pinned) that share their input x, such as q|k|v or gate|up: the batched
// counterpart of FusedMatVec, with the micro-kernels of Gemm.MicroKernels.cs.
//
// Why not the packed job of Gemm.Fast.cs: a prompt has only a few hundred rows, so each packed element of a
// weight serves few FMAs, and that job meets twice per (column block, K slice) in Parallel.For (pack B, then
// compute): ~76 fork-joins per stories110M layer at T = 128. Here the work is cut along the weights' rows:
//  1. x is packed once for all of K, each MR-row panel as its [kc][MR] micro-panels one slice of K after the
//     other, one row panel per chunk.
//  2. Each chunk is one NR-wide column panel of one W_i (NR of its rows). Its owner packs the panel into a
//     buffer of its own (transposed, and widened from bf16 as in Gemm.Bf16Panels.cs), then runs every row
//     panel of x against it: the packed panel (K x NR floats, 144 KB at K = 768) stays in L2 while the x
//     micro-panels stream past it (x at T = 128, C = 768 is 384 KB packed). Each weight element is packed
//     once, by one thread, and no two chunks write the same element of y.
//  3. K is one slice up to MaxSlice, so each C tile is stored once, not loaded and stored again per slice of
//     KC as in Gemm.Fast.cs: at T = 256 that alone gave 5-8% more FLOP/s on one core. Past MaxSlice (7B's
//     11008-wide down projection) K is cut into equal slices so that the packed panel still fits in L2.
// So a projection is two parallel steps whatever its size (Parallel.For, like the rest of the prefill, whose
// waits block rather than spin, so a loaded machine does not stall on them), and threads claim column panels
// dynamically, so a core slowed by other load simply takes fewer of them.
//
// ProjectSwiGlu: the down projection of the MLP packs SwiGLU(gate, up) instead of x: each row panel's h rows are
// computed into a buffer of the packing thread just before they are packed, one pass over gate and up fewer.

using System.Buffers;

namespace DrICL.Kernels.Cpu;

public static partial class Gemm
{
    const int MaxSlice = 2048;  // the deepest K a projection packs at once: 2048 x 48 floats = 384 KB, within L2

    /// <summary>
    /// y_i[T, W_i.Rows] = x[T, Cols] · W_iᵀ for weights sharing their column count, on up to threads cores; outputs are the
    /// y_i's addresses (row-major, pinned). The semantics of <see cref="Reference"/> with transB (weights widened);
    /// with accumulate, y_i += x · W_iᵀ (a residual connection added where the product is stored).
    /// </summary>
    public static unsafe void Project(int threads, float* x, int t, WeightMatrix[] weights, nint[] outputs, bool accumulate = false) =>
        Project(threads, x, null, t, weights, outputs, accumulate, Best);

    /// <summary>
    /// y[T, W.Rows] = h · Wᵀ (or y += with accumulate) for h = silu(gate) ⊙ up, gate and up [T, W.Cols]: the MLP's down
    /// projection, with its SwiGLU computed for each row panel of h as the panel is packed, so h is never stored whole.
    /// </summary>
    public static unsafe void ProjectSwiGlu(int threads, float* gate, float* up, int t, WeightMatrix weight, float* y, bool accumulate = false) =>
        Project(threads, gate, up, t, [weight], [(nint)y], accumulate, Best);

    // The input is x (up null), or SwiGLU(x, up) with x the gate.
    internal static unsafe void Project(int threads, float* x, float* up, int t, WeightMatrix[] weights, nint[] outputs, bool accumulate, MicroKernel kernel)
    {
        if (weights.Length == 0 || weights.Length != outputs.Length) throw new ArgumentException($"{weights.Length} weights for {outputs.Length} outputs");
        if (weights.Any(w => w.Cols != weights[0].Cols)) throw new ArgumentException("projected weights must share their column count");
        if (t <= 0) throw new ArgumentOutOfRangeException(nameof(t), $"{t} rows to project");
        var job = new ProjectionJob(x, up, t, weights, outputs, accumulate, kernel);
        var buffer = ArrayPool<float>.Shared.Rent(job.PackedXLength + 16);  // + 16: room to align to 64 bytes
        try
        {
            fixed (float* p = buffer)
            {
                job.PackedX = (float*)(((nint)p + 63) & ~(nint)63);
                var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
                Parallel.For(0, job.RowPanels, options, job.PackRowPanel);
                Parallel.For(0, job.ColumnPanels, options, job.ComputeColumnPanel);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>The packing step's items are row panels of x; the compute step's, column panels of the weights.</summary>
    sealed unsafe class ProjectionJob
    {
        readonly float* x, up;  // up: null, or x is the gate and the input is SwiGLU(x, up)
        readonly int t, k, mr, nr, slice;
        readonly WeightMatrix[] weights;
        readonly nint[] outputs;
        readonly int[] firstPanel;  // firstPanel[i]: the first column panel of weights[i]; the last entry is the total
        readonly bool accumulate;
        readonly MicroKernel kernel;
        public float* PackedX;

        public ProjectionJob(float* x, float* up, int t, WeightMatrix[] weights, nint[] outputs, bool accumulate, MicroKernel kernel)
        {
            this.x = x;
            this.up = up;
            (this.t, this.weights, this.outputs, this.accumulate, this.kernel) = (t, weights, outputs, accumulate, kernel);
            k = weights[0].Cols;
            slice = Ceil(k, Ceil(k, MaxSlice));  // the fewest equal slices of at most MaxSlice
            (mr, nr) = Shape(kernel);
            firstPanel = new int[weights.Length + 1];
            for (int i = 0; i < weights.Length; i++) firstPanel[i + 1] = firstPanel[i] + Ceil(weights[i].Rows, nr);
        }

        public int RowPanels => Ceil(t, mr);
        public int ColumnPanels => firstPanel[^1];
        public int PackedXLength => RowPanels * mr * k;

        // Row panel r of x, every slice of K: the slice at p0 is the [kc][MR] micro-panel at PackedX + (r·MR·K + p0·MR).
        public void PackRowPanel(int r)
        {
            int rows = Math.Min(mr, t - r * mr);
            float* src = x + (nint)r * mr * k;
            if (up != null)
            {
                float* h = Buffers.Input(rows * k);
                SwiGlu.ForwardSerial(new ReadOnlySpan<float>(src, rows * k), new ReadOnlySpan<float>(up + (nint)r * mr * k, rows * k), new Span<float>(h, rows * k));
                src = h;
            }
            for (int p0 = 0; p0 < k; p0 += slice)
                PackTransposed(src + p0, k, Math.Min(slice, k - p0), rows, mr, PackedX + (nint)r * mr * k + (nint)p0 * mr);
        }

        public void ComputeColumnPanel(int panel)
        {
            int i = 0;
            while (panel >= firstPanel[i + 1]) i++;
            var w = weights[i];
            int j = (panel - firstPanel[i]) * nr, cols = Math.Min(nr, w.Rows - j), ldy = w.Rows;
            float* y = (float*)outputs[i] + j, packedB = Buffers.B(slice * nr), scratch = Buffers.Scratch(mr * nr);
            for (int p0 = 0; p0 < k; p0 += slice)
            {
                int kc = Math.Min(slice, k - p0);
                bool load = p0 > 0 || accumulate;
                if (w.Format == WeightFormat.Bf16) PackTransposedBf16(w.Bf16Row(j) + p0, k, kc, cols, nr, packedB);
                else PackTransposed(w.F32Row(j) + p0, k, kc, cols, nr, packedB);
                for (int r = 0; r < RowPanels; r++)
                {
                    int rows = Math.Min(mr, t - r * mr);
                    float* a = PackedX + (nint)r * mr * k + (nint)p0 * mr, c = y + (nint)r * mr * ldy;
                    if (rows == mr && cols == nr)
                        RunKernel(kernel, a, packedB, c, ldy, kc, load);
                    else
                    {
                        RunKernel(kernel, a, packedB, scratch, nr, kc, false);
                        StoreEdge(scratch, nr, c, ldy, rows, cols, load);
                    }
                }
            }
        }
    }
}
