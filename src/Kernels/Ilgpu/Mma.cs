using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace DrICL.Kernels.Ilgpu;

// Mma.cs: the one tensor-core instruction the bf16 attention kernels use, and the only inline PTX (CudaAsm)
// in the ILGPU kernels.
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (sm_80+): D[16x8] = A[16x16] B[16x8] + C, fp32
// accumulation. Fragments, per the PTX ISA, with g = lane / 4 and t = lane % 4, each register holding two
// bf16 of adjacent columns (A) or rows (B), the lower index in the low half (Bf16.Pack):
//   A (row-major 16x16): A0 (row g, cols 2t, 2t+1), A1 (row g+8, cols 2t..), A2 (row g, cols 2t+8..), A3 (row g+8, cols 2t+8..)
//   B ("col": 16x8 stored column by column): B0 (rows 2t, 2t+1, col g), B1 (rows 2t+8, 2t+9, col g)
//   C, D (fp32 16x8): C0, C1 (row g, cols 2t, 2t+1), C2, C3 (row g+8, cols 2t, 2t+1)
// On a CUDA accelerator the PTX instruction runs; everywhere else (ILGPU's CPU accelerator) MmaBf16 takes its
// portable twin, which gathers the same registers from the same lanes with warp shuffles and multiplies the
// same bf16 values in fp32, so a kernel executes the same data flow on both. An Emit outside the
// CudaAsm.IsSupported guard would abort the process on the CPU accelerator.

/// <summary>An A operand: 16x16 bf16, four registers of two.</summary>
public struct AFragment
{
    public uint A0, A1, A2, A3;
}

/// <summary>A B operand: 16x8 bf16, two registers of two.</summary>
public struct BFragment
{
    public uint B0, B1;
}

/// <summary>Two values of adjacent lanes (or pairs of lanes), the lower lane's in Lo.</summary>
public struct LanePair<T> where T : unmanaged
{
    public T Lo, Hi;
}

/// <summary>A C (accumulator) or D operand: 16x8 fp32, four per lane.</summary>
public struct CFragment
{
    public float C0, C1, C2, C3;
}

public static class Mma
{
    /// <summary>c += a b for one m16n8k16 tile; every lane of the warp must call it together.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MmaBf16(ref CFragment c, AFragment a, BFragment b)
    {
        if (CudaAsm.IsSupported)
        {
            // asm operands must be scalars (wrapped as inputs and in/out references): one register each
            Ref<float> c0 = c.C0, c1 = c.C1, c2 = c.C2, c3 = c.C3;
            Input<uint> a0 = a.A0, a1 = a.A1, a2 = a.A2, a3 = a.A3, b0 = b.B0, b1 = b.B1;
            CudaAsm.EmitRef("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};",
                ref c0, ref c1, ref c2, ref c3, ref a0, ref a1, ref a2, ref a3, ref b0, ref b1);
            c.C0 = c0.Value; c.C1 = c1.Value; c.C2 = c2.Value; c.C3 = c3.Value;
        }
        else
        {
            MmaBf16Portable(ref c, a, b);
        }
    }

    /// <summary>
    /// The same product from the same fragments, for accelerators without the instruction. Lane (g, t) owns D
    /// rows g and g+8, columns 2t and 2t+1. Rows g and g+8 of A are spread over the lanes of its own quad
    /// (lanes 4g..4g+3, one quarter of k each: k = 2kt, 2kt+1 and 2kt+8, 2kt+9 in lane 4g+kt), column n of B
    /// over quad n. So each quad first gathers its lanes' registers (xor shuffles by 1 and 2), then a lane
    /// fetches the B of quads 2t and 2t+1: six shuffles, where one per source lane would take twelve (each
    /// shuffle is a barrier of 32 OS threads on the CPU accelerator). bf16 x bf16 is exact in fp32, so only
    /// the fp32 sums round (the tensor core's order of addition is unspecified; here k quarter by quarter).
    /// </summary>
    public static void MmaBf16Portable(ref CFragment c, AFragment a, BFragment b)
    {
        int t = Warp.LaneIdx & 3;
        var rows = GatherQuad(a, t);
        var cols = GatherQuad(b, t);
        var col0 = Warp.Shuffle(cols, 8 * t);     // quad 2t: column 2t
        var col1 = Warp.Shuffle(cols, 8 * t + 4); // quad 2t+1: column 2t+1
        Quarter(ref c, rows.Lo.Lo, col0.Lo.Lo, col1.Lo.Lo);
        Quarter(ref c, rows.Lo.Hi, col0.Lo.Hi, col1.Lo.Hi);
        Quarter(ref c, rows.Hi.Lo, col0.Hi.Lo, col1.Hi.Lo);
        Quarter(ref c, rows.Hi.Hi, col0.Hi.Hi, col1.Hi.Hi);
    }

    // x of the four lanes of this lane's quad, lowest lane first; t: this lane's index in the quad.
    static LanePair<LanePair<T>> GatherQuad<T>(T x, int t) where T : unmanaged
    {
        var other = Warp.ShuffleXor(x, 1);
        var pair = (t & 1) == 0 ? new LanePair<T> { Lo = x, Hi = other } : new LanePair<T> { Lo = other, Hi = x };
        var otherPair = Warp.ShuffleXor(pair, 2);
        return (t & 2) == 0 ? new LanePair<LanePair<T>> { Lo = pair, Hi = otherPair } : new LanePair<LanePair<T>> { Lo = otherPair, Hi = pair };
    }

    // One quarter of k: rows g, g+8 of A against columns 2t (col0) and 2t+1 (col1) of B.
    static void Quarter(ref CFragment c, AFragment rows, BFragment col0, BFragment col1)
    {
        c.C0 += Dot(rows.A0, col0.B0) + Dot(rows.A2, col0.B1);
        c.C1 += Dot(rows.A0, col1.B0) + Dot(rows.A2, col1.B1);
        c.C2 += Dot(rows.A1, col0.B0) + Dot(rows.A3, col0.B1);
        c.C3 += Dot(rows.A1, col1.B0) + Dot(rows.A3, col1.B1);
    }

    // Two bf16 pairs along k: x.lo y.lo + x.hi y.hi.
    static float Dot(uint x, uint y) => Bf16.Low(x) * Bf16.Low(y) + Bf16.High(x) * Bf16.High(y);

    /// <summary>
    /// The A fragment of columns 16 kk..16 kk+15 of a 16-row fp32 mma result held as its n-tiles lo = 2 kk and
    /// hi = 2 kk + 1: a C fragment's (row, column) pairs are exactly an A fragment's, so P and dS never leave
    /// registers between two products (FlashAttention-2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AFragment CToA(CFragment lo, CFragment hi) => new()
    {
        A0 = Bf16.Pack(lo.C0, lo.C1),
        A1 = Bf16.Pack(lo.C2, lo.C3),
        A2 = Bf16.Pack(hi.C0, hi.C1),
        A3 = Bf16.Pack(hi.C2, hi.C3),
    };
}
