// Embedding, fast path. The forward is a row copy per token, one range of tokens per core. The backward
// scatters rows of dy into dtable, and two tokens may share an id, so splitting by tokens would race;
// it splits by columns instead: each core owns a slice of every row of dtable and adds all tokens into
// it in order, which is race-free and gives the same sums as the serial loop. Ids are checked up front so
// a bad id throws before anything is written.

using System.Numerics.Tensors;

namespace DrICL.Kernels.Cpu;

public static partial class Embedding
{
    // table: [V,C], ids: [N] -> y: [N,C]
    public static unsafe void Forward(ReadOnlySpan<float> table, ReadOnlySpan<int> ids, Span<float> y, int vocab, int c)
    {
        Check(ids, vocab);
        Work.Need(table.Length, (long)vocab * c, nameof(table)); Work.Need(y.Length, (long)ids.Length * c, nameof(y));
        fixed (float* pt = table, py = y)
        fixed (int* pid = ids)
        {
            nint ts = (nint)pt, ys = (nint)py, idss = (nint)pid;
            Work.For(ids.Length, c, (t0, t1) =>
            {
                for (int t = t0; t < t1; t++)
                    new ReadOnlySpan<float>((float*)ts + (nint)((int*)idss)[t] * c, c).CopyTo(new Span<float>((float*)ys + (nint)t * c, c));
            });
        }
    }

    // dy: [N,C] -> dtable: [V,C] accumulated
    public static unsafe void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<int> ids, Span<float> dtable, int vocab, int c)
    {
        Check(ids, vocab);
        Work.Need(dtable.Length, (long)vocab * c, nameof(dtable)); Work.Need(dy.Length, (long)ids.Length * c, nameof(dy));
        const int Line = 16;  // column slices are whole cache lines, so cores never write the same line
        int n = ids.Length;
        fixed (float* pdy = dy, pt = dtable)
        fixed (int* pid = ids)
        {
            nint dys = (nint)pdy, ts = (nint)pt, idss = (nint)pid;
            Work.For((c + Line - 1) / Line, 2L * n * Line, (b0, b1) =>
            {
                int c0 = b0 * Line, width = Math.Min(c, b1 * Line) - c0;
                for (int t = 0; t < n; t++)
                {
                    var row = new Span<float>((float*)ts + (nint)((int*)idss)[t] * c + c0, width);
                    TensorPrimitives.Add(row, new ReadOnlySpan<float>((float*)dys + (nint)t * c + c0, width), row);
                }
            });
        }
    }

    static void Check(ReadOnlySpan<int> ids, int vocab)
    {
        foreach (var id in ids) CheckId(id, vocab);
    }
}
