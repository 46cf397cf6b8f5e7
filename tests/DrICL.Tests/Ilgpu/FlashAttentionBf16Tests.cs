using System.Text.RegularExpressions;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using NUnit.Framework;
using Bf16 = DrICL.Kernels.Ilgpu.Bf16;
using static DrICL.Tests.Ilgpu.GpuAttentionMasks;

namespace DrICL.Tests.Ilgpu;

/// <summary>
/// The ILGPU bf16 tensor-core attention (IlgpuAttentionBf16) against FlashAttention.ForwardReference and
/// BackwardReference, over every mask, grouped-query and multi-query heads, KV-cache offsets, lengths around
/// the tiles and head dims of each bucket; and Mma.cs's fragments against a plain matrix product. On the first
/// CUDA device of compute capability 8.0+ when there is one, else on ILGPU's CPU accelerator (warps of 32),
/// where the mma runs as its portable twin. The CPU accelerator runs every simulated thread as an OS thread,
/// so shapes are small.
/// </summary>
[Category("Gpu")]
public class FlashAttentionBf16Tests
{
    // As CudaBf16AttentionTests (bounds measured on bf16 error, about 2.5x the worst seen): relative to the
    // tensor's largest value, plus an absolute slack; a missing mask or a wrong tile bound shows as tens of percent.
    const float ForwardTolerance = 1.5e-2f; // o
    const float BackwardTolerance = 3e-2f;  // dq, dk, dv: two rounded products deep
    const float LseTolerance = 2.5e-2f;     // absolute
    const float ForwardSlack = 1e-4f;
    const float BackwardSlack = 5e-3f;      // where dP - delta cancels exactly, bf16 dP still differs from fp32 delta

    Context context = null!;
    Accelerator accelerator = null!;
    IlgpuAttentionBf16 attention = null!;

    [OneTimeSetUp]
    public void Open()
    {
        context = Context.Create(b => b.Cuda(d => d.Architecture >= CudaArchitecture.SM_80).CPU(CPUDeviceKind.Nvidia)
            .Optimize(OptimizationLevel.O2).EnableAlgorithms());
        var cuda = context.GetCudaDevices();
        accelerator = cuda.Count > 0 ? cuda[0].CreateAccelerator(context) : context.GetCPUDevice(0).CreateAccelerator(context);
        attention = new IlgpuAttentionBf16(accelerator);
        TestContext.Progress.WriteLine($"bf16 attention tests on {accelerator.Name} ({accelerator.AcceleratorType})");
    }

    [OneTimeTearDown]
    public void Close()
    {
        attention?.Dispose();
        accelerator?.Dispose();
        context?.Dispose();
    }

    static float[] Random(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = scale * (float)(rng.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>max |got - expected| &lt;= rel * max |expected| + abs.</summary>
    internal static void AssertNear(float[] e, float[] a, float rel, float abs, string what)
    {
        float scale = e.Max(MathF.Abs), worst = 0;
        int at = -1;
        for (int i = 0; i < e.Length; i++)
        {
            float diff = MathF.Abs(a[i] - e[i]);
            if (!(diff <= worst)) { worst = diff; at = i; } // NaN counts as worst
        }
        TestContext.Out.WriteLine($"{what}: max |diff| {worst:E2} = {worst / scale:E2} of max |ref| {scale:E2}");
        Assert.That(worst, Is.LessThanOrEqualTo(rel * scale + abs), $"{what}: at {at} expected {(at >= 0 ? e[at] : 0)} got {(at >= 0 ? a[at] : 0)}");
    }

    static IEnumerable<TestCaseData> Cases()
    {
        // (batch, queries, keys, heads, kvHeads, headDim, queryOffset): each shape under a few masks, and every
        // mask kind on some shape, to keep the CPU accelerator's runtime down.
        var masks = Enum.GetValues<MaskKind>().Where(m => m != MaskKind.Causal).ToArray();
        var cases = new (int B, int Tq, int Tk, int H, int Kv, int D, int Offset, MaskKind[] Masks)[]
        {
            (1, 37, 37, 4, 2, 16, 0, [MaskKind.Causal]),                       // GQA, odd length, the smallest bucket padded from 16
            (1, 29, 29, 2, 1, 16, 0, masks),                                   // every other mask, MQA
            (1, 65, 65, 1, 1, 64, 0, [MaskKind.Causal]),                       // one row past a 64-row tile
            (1, 66, 66, 1, 1, 128, 0, [MaskKind.Causal]),                      // the largest bucket, two query and two key groups
            (1, 17, 17, 2, 1, 80, 0, [MaskKind.Window]),                       // padded from 80 to 128
            (1, 5, 41, 4, 2, 64, 36, [MaskKind.PackedSegments]),               // decoding five tokens against a KV cache
            (1, 1, 70, 2, 1, 32, 69, [MaskKind.Causal]),                       // one token, the last of two key tiles
        };
        foreach (var s in cases)
            foreach (var kind in s.Masks)
                foreach (var prefix in kind switch
                {
                    MaskKind.Segments => Enum.GetValues<PrefixVisibility>(),
                    MaskKind.PackedSegments => [PrefixVisibility.First],
                    _ => [PrefixVisibility.All],
                })
                    yield return new TestCaseData(s.B, s.Tq, s.Tk, s.H, s.Kv, s.D, s.Offset, kind, prefix);
    }

    [TestCaseSource(nameof(Cases))]
    public void AttentionForwardAndBackward(int batch, int tq, int tk, int heads, int kvHeads, int d, int offset, MaskKind kind, PrefixVisibility prefix)
    {
        var shape = new AttentionShape(batch, tq, tk, heads, kvHeads, d, offset);
        Assert.That(attention.Supports(shape), Is.True);
        var mask = MakeMask(kind, prefix, batch, tk, window: 7);
        int nq = batch * tq * heads * d, nkv = batch * tk * kvHeads * d;
        float[] q = Random(nq, 1, 2f), k = Random(nkv, 2, 2f), v = Random(nkv, 3), dO = Random(nq, 4);
        float[] o = new float[nq], lse = new float[batch * heads * tq], dq = new float[nq], dk = new float[nkv], dv = new float[nkv];
        FlashAttention.ForwardReference(q, k, v, o, lse, shape, mask);
        FlashAttention.BackwardReference(dO, q, k, v, o, lse, dq, dk, dv, shape, mask);

        var stream = accelerator.DefaultStream;
        using var gq = accelerator.Allocate1D(q);
        using var gk = accelerator.Allocate1D(k);
        using var gv = accelerator.Allocate1D(v);
        using var go = accelerator.Allocate1D(Random(nq, 5));  // garbage the kernels must overwrite
        using var glse = accelerator.Allocate1D(Random(lse.Length, 6));
        attention.Forward(stream, gq.View, gk.View, gv.View, go.View, glse.View, shape, mask);
        stream.Synchronize();
        AssertNear(o, go.GetAsArray1D(), ForwardTolerance, ForwardSlack, "o");
        AssertNear(lse, glse.GetAsArray1D(), 0f, LseTolerance, "lse");

        // The backward from the reference's o and lse, so only the backward kernels are compared.
        using var gdO = accelerator.Allocate1D(dO);
        using var go2 = accelerator.Allocate1D(o);
        using var glse2 = accelerator.Allocate1D(lse);
        using var gdq = accelerator.Allocate1D(Random(nq, 7));
        using var gdk = accelerator.Allocate1D(Random(nkv, 8));
        using var gdv = accelerator.Allocate1D(Random(nkv, 9));
        attention.Backward(stream, gdO.View, gq.View, gk.View, gv.View, go2.View, glse2.View, gdq.View, gdk.View, gdv.View, shape, mask);
        stream.Synchronize();
        AssertNear(dq, gdq.GetAsArray1D(), BackwardTolerance, BackwardSlack, "dq");
        AssertNear(dk, gdk.GetAsArray1D(), BackwardTolerance, BackwardSlack, "dk");
        AssertNear(dv, gdv.GetAsArray1D(), BackwardTolerance, BackwardSlack, "dv");
    }

    [Test]
    public void HeadDimsAbove128AreNotSupported() =>
        Assert.That(attention.Supports(new AttentionShape(1, 4, 4, 1, 1, 160)), Is.False);

    [Test]
    public void SharedMemoryFitsWithoutOptIn()
    {
        Assert.That(IlgpuAttentionBf16.ForwardSharedBytes(128), Is.EqualTo(35_328)); // FlashAttentionBf16.cs's banner
        Assert.That(IlgpuAttentionBf16.BackwardSharedBytes(128), Is.EqualTo(47_360));
        Assert.That(IlgpuAttentionBf16.BackwardSharedBytes(128), Is.LessThanOrEqualTo(48 * 1024));
    }

    // One warp: d = a b through the fragment loaders and MmaBf16 (the tensor core on CUDA, the portable twin
    // elsewhere), twice: A from a row-major tile and B from a tile holding B^T (LoadA, LoadB), and A from a
    // tile holding A^T and B from a row-major one (LoadAFromColumns, LoadBFromRows).
    // aRows: [16][16+8] bf16 words, aCols: A^T as [16][16+8], bRows: [16][8+8], bCols: B^T as [8][16+8] -> d1, d2: [16][8]
    static void MmaKernel(ArrayView<uint> aRows, ArrayView<uint> aCols, ArrayView<uint> bRows, ArrayView<uint> bCols, ArrayView<float> d1, ArrayView<float> d2)
    {
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        var c1 = new CFragment();
        Mma.MmaBf16(ref c1, Bf16Tiles.LoadA(aRows, Bf16Tiles.Stride(16), 0, 0), Bf16Tiles.LoadB(bCols, Bf16Tiles.Stride(16), 0, 0));
        var c2 = new CFragment();
        Mma.MmaBf16(ref c2, Bf16Tiles.LoadAFromColumns(aCols, Bf16Tiles.Stride(16), 0, 0), Bf16Tiles.LoadBFromRows(bRows, Bf16Tiles.Stride(8), 0, 0));
        d1[g * 8 + 2 * t] = c1.C0; d1[g * 8 + 2 * t + 1] = c1.C1; d1[(g + 8) * 8 + 2 * t] = c1.C2; d1[(g + 8) * 8 + 2 * t + 1] = c1.C3;
        d2[g * 8 + 2 * t] = c2.C0; d2[g * 8 + 2 * t + 1] = c2.C1; d2[(g + 8) * 8 + 2 * t] = c2.C2; d2[(g + 8) * 8 + 2 * t + 1] = c2.C3;
    }

    // m: [rows][cols] -> bf16 words, (cols + 8) / 2 per row
    static uint[] Tile(float[,] m)
    {
        int rows = m.GetLength(0), cols = m.GetLength(1), stride = Bf16Tiles.Stride(cols);
        var words = new uint[rows * stride];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c += 2) words[r * stride + c / 2] = Bf16.Pack(m[r, c], m[r, c + 1]);
        return words;
    }

    static float[,] Transpose(float[,] m)
    {
        var t = new float[m.GetLength(1), m.GetLength(0)];
        for (int r = 0; r < m.GetLength(0); r++)
            for (int c = 0; c < m.GetLength(1); c++) t[c, r] = m[r, c];
        return t;
    }

    [Test]
    public void MmaFragmentsMatchAPlainMatrixProduct()
    {
        var rng = new Random(11);
        var a = new float[16, 16];
        var b = new float[16, 8];
        foreach (var m in new[] { a, b })
            for (int r = 0; r < m.GetLength(0); r++)
                for (int c = 0; c < m.GetLength(1); c++) m[r, c] = (float)(rng.NextDouble() * 4 - 2);
        // The expected product of the bf16-rounded inputs, in double: every entry distinct, so a misplaced register shows.
        var expected = new float[16 * 8];
        for (int i = 0; i < 16; i++)
            for (int j = 0; j < 8; j++)
            {
                double sum = 0;
                for (int kk = 0; kk < 16; kk++) sum += (double)Bf16.Low(Bf16.Pack(a[i, kk], 0)) * Bf16.Low(Bf16.Pack(b[kk, j], 0));
                expected[i * 8 + j] = (float)sum;
            }

        var kernel = accelerator.LoadStreamKernel<ArrayView<uint>, ArrayView<uint>, ArrayView<uint>, ArrayView<uint>, ArrayView<float>, ArrayView<float>>(MmaKernel);
        using var aRows = accelerator.Allocate1D(Tile(a));
        using var aCols = accelerator.Allocate1D(Tile(Transpose(a)));
        using var bRows = accelerator.Allocate1D(Tile(b));
        using var bCols = accelerator.Allocate1D(Tile(Transpose(b)));
        using var d1 = accelerator.Allocate1D<float>(16 * 8);
        using var d2 = accelerator.Allocate1D<float>(16 * 8);
        kernel(new KernelConfig(1, 32), aRows.View, aCols.View, bRows.View, bCols.View, d1.View, d2.View);
        accelerator.Synchronize();
        Assert.That(d1.GetAsArray1D(), Is.EqualTo(expected).Within(1e-5f), "LoadA, LoadB");
        Assert.That(d2.GetAsArray1D(), Is.EqualTo(expected).Within(1e-5f), "LoadAFromColumns, LoadBFromRows");
    }

    [Test]
    public void Bf16RoundsToNearestEven()
    {
        Assert.That(Bf16.Bits(1f), Is.EqualTo(0x3f80u));
        Assert.That(Bf16.Bits(BitConverter.UInt32BitsToSingle(0x3f808000)), Is.EqualTo(0x3f80u)); // tie, even stays
        Assert.That(Bf16.Bits(BitConverter.UInt32BitsToSingle(0x3f818000)), Is.EqualTo(0x3f82u)); // tie, odd rounds up
        Assert.That(Bf16.Bits(BitConverter.UInt32BitsToSingle(0x3f808001)), Is.EqualTo(0x3f81u));
        Assert.That(float.IsNaN(Bf16.Low(Bf16.Bits(float.NaN))), Is.True);
        Assert.That(Bf16.Pack(1f, -2f), Is.EqualTo(0xc0003f80u));
    }

    [Test]
    public void CudaAsmLivesOnlyInMmaCs()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "src", "Kernels", "Ilgpu"))) dir = Path.GetDirectoryName(dir);
        Assert.That(dir, Is.Not.Null, "src/Kernels/Ilgpu above the test binaries");
        var files = Directory.GetFiles(Path.Combine(dir!, "src", "Kernels", "Ilgpu"), "*.cs");
        Assert.That(files.Select(Path.GetFileName), Does.Contain("Mma.cs"));
        foreach (var f in files)
            Assert.That(Regex.IsMatch(File.ReadAllText(f), @"\bCudaAsm\b"), Is.EqualTo(Path.GetFileName(f) == "Mma.cs"), f);
    }
}
