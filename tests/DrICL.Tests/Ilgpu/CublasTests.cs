using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Ilgpu;
using NUnit.Framework;

namespace DrICL.Tests.Ilgpu;

/// <summary>cuBLAS's host side, which needs neither a GPU nor the library: which files are probed, and the row-major to column-major mapping.</summary>
public class CublasTests
{
    [Test]
    public void CublasIsProbedNewestCudaFirst() =>
        Assert.That(Cublas.Sonames, Is.EqualTo(new[] { "libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so" }));

    [Test]
    public void AnOverridePathIsTriedBeforeTheSonames()
    {
        Assert.That(NativeLibraryProbe.Candidates("/opt/cuda/lib64/libcublas.so.12.4", Cublas.Sonames),
            Is.EqualTo(new[] { "/opt/cuda/lib64/libcublas.so.12.4", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so" }));
        Assert.That(NativeLibraryProbe.Candidates("", Cublas.Sonames), Is.EqualTo(Cublas.Sonames));
        Assert.That(NativeLibraryProbe.Candidates(null, Cublas.Sonames), Is.EqualTo(Cublas.Sonames));
    }

    [Test]
    public void AMissingLibraryListsEveryNameTried()
    {
        var e = Assert.Throws<DllNotFoundException>(() => NativeLibraryProbe.Load("Frobnicator", "DRICL_TEST_UNSET_VARIABLE", ["libfrobnicate.so.99", "libfrobnicate.so"]));
        Assert.That(e!.Message, Does.Contain("Frobnicator not found").And.Contain("libfrobnicate.so.99, libfrobnicate.so").And.Contain("DRICL_TEST_UNSET_VARIABLE"));
    }

    /// <summary>Column-major SGEMM as cuBLAS defines it: C = op(A) op(B), every matrix column-major with its leading dimension.</summary>
    static void ColumnMajorSgemm(bool transA, bool transB, int m, int n, int k, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (double)(transA ? a[i * lda + p] : a[p * lda + i]) * (transB ? b[p * ldb + j] : b[j * ldb + p]);
                c[j * ldc + i] = (float)(sum + beta * c[j * ldc + i]);
            }
    }

    [TestCase(false, false, false)]
    [TestCase(true, false, false)]
    [TestCase(false, true, true)]
    [TestCase(true, true, true)]
    public void RowMajorGemmMapsOntoColumnMajorCublas(bool transA, bool transB, bool accumulate)
    {
        const int m = 5, n = 7, k = 3;
        var rng = new Random(3);
        float[] Random(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)rng.NextDouble() - 0.5f)];
        float[] a = Random(m * k), b = Random(k * n), c = Random(m * n);
        var expected = (float[])c.Clone();
        Gemm.Reference(a, b, expected, m, n, k, transA, transB, accumulate);

        var g = Cublas.RowMajor(m, n, k, transA, transB);
        ColumnMajorSgemm(g.TransFirst, g.TransSecond, g.M, g.N, g.K, b, g.LdFirst, a, g.LdSecond, accumulate ? 1f : 0f, c, g.Ldc);
        Assert.That(c, Is.EqualTo(expected).Within(1e-6f));
    }
}
