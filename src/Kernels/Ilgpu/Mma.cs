using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace DrICL.Kernels.Ilgpu;

// Mma.cs: the one tensor-core instruction the bf16 attention kernels use, and the only inline PTX (CudaAsm)
// in the ILGPU kernels (a port of mma.cuh).
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
    /// The same product from the same fragments, for accelerators without the instruction. Lane (g, t) owns
    /// D rows g and g+8, columns 2t and 2t+1. For each quarter kt of k (k = 2kt, 2kt+1 and 2kt+8, 2kt+9) it
    /// takes rows g and g+8 of A from lane 4g+kt and columns 2t and 2t+1 of B from lanes 4(2t)+kt and
    /// 4(2t+1)+kt. bf16 x bf16 is exact in fp32, so only the fp32 sums round (the order the tensor core adds
    /// in is unspecified; here it is k ascending within each quarter).
    /// </summary>
    public static void MmaBf16Portable(ref CFragment c, AFragment a, BFragment b)
    {
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        float c0 = c.C0, c1 = c.C1, c2 = c.C2, c3 = c.C3;
        for (int kt = 0; kt < 4; kt++)
        {
            var rows = Warp.Shuffle(a, 4 * g + kt);
            var col0 = Warp.Shuffle(b, 8 * t + kt);
            var col1 = Warp.Shuffle(b, 8 * t + 4 + kt);
            c0 += Dot(rows.A0, col0.B0) + Dot(rows.A2, col0.B1);
            c1 += Dot(rows.A0, col1.B0) + Dot(rows.A2, col1.B1);
            c2 += Dot(rows.A1, col0.B0) + Dot(rows.A3, col0.B1);
            c3 += Dot(rows.A1, col1.B0) + Dot(rows.A3, col1.B1);
        }
        c.C0 = c0; c.C1 = c1; c.C2 = c2; c.C3 = c3;
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
