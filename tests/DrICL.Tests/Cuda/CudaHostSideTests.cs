using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using DrICL.Cli;
using DrICL.Kernels;
using DrICL.Kernels.Cpu;
using DrICL.Kernels.Cuda;
using NUnit.Framework;

namespace DrICL.Tests.Cuda;

/// <summary>The CUDA backend's host-side logic, which needs neither a GPU, a driver nor NVRTC.</summary>
[Category("Cuda")]
public class CudaHostSideTests
{
    [Test]
    public void NvrtcIsProbedNewestCudaFirst()
    {
        Assert.That(Nvrtc.Sonames, Is.EqualTo(new[] { "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so" }));
    }

    [Test]
    public void ErrorsNameTheCallAndTheCudaError()
    {
        var e = new CudaException("cuMemAlloc_v2(1024 bytes)", "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
        Assert.That(e.Message, Is.EqualTo("cuMemAlloc_v2(1024 bytes): CUDA_ERROR_OUT_OF_MEMORY (out of memory)"));
        Assert.That((e.Call, e.ErrorName), Is.EqualTo(("cuMemAlloc_v2(1024 bytes)", "CUDA_ERROR_OUT_OF_MEMORY")));
        Assert.That(new CudaException("cublasCreate_v2", "CUBLAS_STATUS_NOT_INITIALIZED").Message, Is.EqualTo("cublasCreate_v2: CUBLAS_STATUS_NOT_INITIALIZED"));
        // A compile log goes below the headline, whole.
        var log = "rope.cu(3): error: identifier \"x\" is undefined\n\n1 error detected in the compilation of \"rope.cu\".\n";
        Assert.That(CudaException.Format("nvrtcCompileProgram(rope.cu)", "NVRTC_ERROR_COMPILATION", log),
            Is.EqualTo("nvrtcCompileProgram(rope.cu): NVRTC_ERROR_COMPILATION\n" + log.Trim()));
    }

    static readonly KernelSource Source = new("a.cu", "extern \"C\" __global__ void f() {}");
    static readonly (string, string)[] Headers = [("common.cuh", "#pragma once")];

    [Test]
    public void CacheKeyCoversCompilerArchitectureOptionsSourceAndHeaders()
    {
        string key = NvrtcCompiler.CacheKey("11.8", NvrtcCompiler.Options("compute_80"), Source, Headers);
        Assert.That(key, Does.Match("^[0-9a-f]{64}$"));
        Assert.That(NvrtcCompiler.CacheKey("11.8", NvrtcCompiler.Options("compute_80"), Source, Headers), Is.EqualTo(key));
        string[] others =
        [
            NvrtcCompiler.CacheKey("12.4", NvrtcCompiler.Options("compute_80"), Source, Headers),
            NvrtcCompiler.CacheKey("11.8", NvrtcCompiler.Options("compute_90"), Source, Headers),
            NvrtcCompiler.CacheKey("11.8", [.. NvrtcCompiler.Options("compute_80"), "-lineinfo"], Source, Headers),
            NvrtcCompiler.CacheKey("11.8", NvrtcCompiler.Options("compute_80"), Source with { Text = Source.Text + " " }, Headers),
            NvrtcCompiler.CacheKey("11.8", NvrtcCompiler.Options("compute_80"), Source with { FileName = "b.cu" }, Headers),
            NvrtcCompiler.CacheKey("11.8", NvrtcCompiler.Options("compute_80"), Source, [("common.cuh", "#pragma once\n")]),
            NvrtcCompiler.CacheKey("11.8", NvrtcCompiler.Options("compute_80"), Source, []),
        ];
        Assert.That(others, Has.None.EqualTo(key));
        Assert.That(others.Distinct().Count(), Is.EqualTo(others.Length));
    }

    [Test]
    public void CacheKeyDoesNotLetTextMoveBetweenFields()
    {
        var left = NvrtcCompiler.CacheKey("11.8", [], new KernelSource("ab", "c"), []);
        var right = NvrtcCompiler.CacheKey("11.8", [], new KernelSource("a", "bc"), []);
        Assert.That(left, Is.Not.EqualTo(right));
    }

    [Test]
    public void CompilesWithExactMathForTheTargetArchitecture()
    {
        Assert.That(NvrtcCompiler.Options("compute_90"), Is.EqualTo(new[] { "--gpu-architecture=compute_90", "-default-device", "--std=c++17" }));
    }

    [Test]
    public void CacheDirectoryHonorsDriclCacheDirThenXdgThenHome()
    {
        static string Dir(params (string Name, string Value)[] vars) =>
            NvrtcCompiler.DefaultCacheDirectory(name => vars.FirstOrDefault(v => v.Name == name).Value);
        Assert.That(Dir(("DRICL_CACHE_DIR", "/data/cache"), ("XDG_CACHE_HOME", "/x"), ("HOME", "/home/u")), Is.EqualTo("/data/cache/ptx"));
        Assert.That(Dir(("XDG_CACHE_HOME", "/x"), ("HOME", "/home/u")), Is.EqualTo("/x/dricl/ptx"));
        Assert.That(Dir(("DRICL_CACHE_DIR", ""), ("HOME", "/home/u")), Is.EqualTo("/home/u/.cache/dricl/ptx"));
    }

    static readonly int[] Nvrtc118 = [35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90];

    [TestCase(8, 0, "compute_80")]
    [TestCase(8, 6, "compute_86")]
    [TestCase(9, 0, "compute_90")]
    [TestCase(8, 8, "compute_87")] // an unknown minor revision falls back within its family
    [TestCase(12, 0, "compute_90")] // a GPU newer than the compiler runs its newest PTX, JIT-compiled by the driver
    public void CompilesForTheNewestArchitectureTheGpuCanRun(int major, int minor, string expected) =>
        Assert.That(NvrtcCompiler.ArchitectureFor(major, minor, Nvrtc118), Is.EqualTo(expected));

    [Test]
    public void AGpuOlderThanTheCompilerIsRejected() =>
        Assert.Throws<NotSupportedException>(() => NvrtcCompiler.ArchitectureFor(3, 0, Nvrtc118));

    [Test]
    public void KernelArgumentsFillTheSlotTheDriverReads()
    {
        static long Bits(KernelArg arg) => MemoryMarshal.Read<long>(MemoryMarshal.AsBytes(new ReadOnlySpan<KernelArg>(in arg)));
        Assert.That(Marshal.SizeOf<KernelArg>(), Is.EqualTo(8));
        Assert.That(Bits(-2), Is.EqualTo(0xFFFF_FFFEL)); // an int is the low 4 bytes; the rest is zero
        Assert.That(Bits(1.5f), Is.EqualTo(BitConverter.SingleToUInt32Bits(1.5f)));
        Assert.That(Bits(unchecked((nint)0x7F00_1234_5678L)), Is.EqualTo(0x7F00_1234_5678L));
    }

    static string SourceText(string file) => KernelSources.Files.Concat(KernelSources.Headers.Select(h => new KernelSource(h.Name, h.Text))).Single(s => s.FileName == file).Text;

    static int Constexpr(string file, string name) =>
        int.Parse(Regex.Match(SourceText(file), $@"constexpr int {name} = (\d+);").Groups[1].Value);

    [Test]
    public void HostTileSizesMatchTheKernels()
    {
        Assert.That(Constexpr("attention_forward.cu", "FWD_WARPS") * 32, Is.EqualTo(CudaAttention.Threads));
        Assert.That(Constexpr("attention_forward.cu", "FWD_WARPS") * Constexpr("attention_forward.cu", "FWD_ROWS_PER_WARP"), Is.EqualTo(CudaAttention.QueryRows));
        Assert.That(Constexpr("attention_forward.cu", "FWD_BK"), Is.EqualTo(CudaAttention.KeyTile));
        Assert.That(Constexpr("attention_backward.cu", "DQ_WARPS") * 32, Is.EqualTo(CudaAttention.Threads));
        Assert.That(Constexpr("attention_backward.cu", "DQ_WARPS") * Constexpr("attention_backward.cu", "DQ_ROWS_PER_WARP"), Is.EqualTo(CudaAttention.QueryRows));
        Assert.That(Constexpr("attention_backward.cu", "DQ_BK"), Is.EqualTo(CudaAttention.KeyTile));
        Assert.That(Constexpr("attention_backward.cu", "DKV_WARPS") * 32, Is.EqualTo(CudaAttention.Threads));
        Assert.That(Constexpr("attention_backward.cu", "DKV_WARPS") * Constexpr("attention_backward.cu", "DKV_KEYS_PER_WARP"), Is.EqualTo(CudaAttention.KeyRows));
        Assert.That(Constexpr("attention_backward.cu", "DKV_BQ"), Is.EqualTo(CudaAttention.QueryTile));
    }

    [Test]
    public void HostTileSizesMatchTheBf16Kernels()
    {
        Assert.That(Constexpr("attention_forward_bf16.cu", "FWD16_WARPS") * 32, Is.EqualTo(CudaAttentionBf16.Threads));
        Assert.That(Constexpr("attention_forward_bf16.cu", "FWD16_WARPS") * 16, Is.EqualTo(CudaAttentionBf16.QueryRows)); // 16 rows per warp: the mma's M
        Assert.That(Constexpr("attention_forward_bf16.cu", "FWD16_BQ"), Is.EqualTo(CudaAttentionBf16.QueryRows));
        Assert.That(Constexpr("attention_forward_bf16.cu", "FWD16_BK"), Is.EqualTo(CudaAttentionBf16.KeyTile));
        Assert.That(Constexpr("attention_backward_bf16.cu", "BWD16_WARPS") * 32, Is.EqualTo(CudaAttentionBf16.Threads));
        Assert.That(Constexpr("attention_backward_bf16.cu", "BWD16_WARPS") * 16, Is.EqualTo(CudaAttentionBf16.KeyTile));
        Assert.That(Constexpr("attention_backward_bf16.cu", "BWD16_BQ"), Is.EqualTo(CudaAttentionBf16.QueryRows));
        Assert.That(Constexpr("attention_backward_bf16.cu", "BWD16_BK"), Is.EqualTo(CudaAttentionBf16.KeyTile));
        // Every staged tile is 64 rows, so the query and key tiles must be too.
        Assert.That(Constexpr("attention_bf16.cuh", "ATT16_TILE"), Is.EqualTo(CudaAttentionBf16.Tile).And.EqualTo(CudaAttentionBf16.QueryRows).And.EqualTo(CudaAttentionBf16.KeyTile));
        Assert.That(Constexpr("attention_bf16.cuh", "ATT16_PAD"), Is.EqualTo(CudaAttentionBf16.Pad));
    }

    [Test]
    public void InlinePtxLivesOnlyInMmaCuh()
    {
        foreach (var f in KernelSources.Files.Concat(KernelSources.Headers.Select(h => new KernelSource(h.Name, h.Text))))
            Assert.That(Regex.IsMatch(f.Text, @"\basm\b"), Is.EqualTo(f.FileName == "mma.cuh"), f.FileName);
    }

    [TestCase(8, 32)]
    [TestCase(33, 64)]
    [TestCase(80, 128)]
    [TestCase(128, 128)]
    public void Bf16HeadDimsPadToAnInstantiatedKernel(int d, int padded) => Assert.That(CudaAttentionBf16.Bucket(d), Is.EqualTo(padded));

    [TestCase("compute_75", false)]
    [TestCase("compute_80", true)]
    [TestCase("compute_86", true)]
    [TestCase("compute_90", true)]
    public void Bf16AttentionNeedsComputeCapability80(string architecture, bool supported) =>
        Assert.That(CudaAttentionBf16.Supports(architecture), Is.EqualTo(supported));

    [Test]
    public void Bf16AttentionSharedMemoryFitsTheGpusItTargets()
    {
        // The forward runs in the default 48 KiB; the backward's largest fits an A100's opt-in 163 KiB (H100: 227 KiB).
        // sm_86/sm_89 allow 99 KiB: there the head-dim-128 backward falls back to fp32 (CudaDevice.UsesBf16Attention).
        Assert.That(CudaAttentionBf16.ForwardSharedBytes(128), Is.LessThanOrEqualTo(48 * 1024));
        Assert.That(CudaAttentionBf16.BackwardSharedBytes(32), Is.LessThanOrEqualTo(48 * 1024));
        Assert.That(CudaAttentionBf16.BackwardSharedBytes(64), Is.LessThanOrEqualTo(99 * 1024));
        Assert.That(CudaAttentionBf16.BackwardSharedBytes(128), Is.LessThanOrEqualTo(163 * 1024));
    }

    [Test]
    public void MaskConstantsMatchPrefixVisibility()
    {
        string header = SourceText("attention_mask.cuh");
        foreach (var p in Enum.GetValues<PrefixVisibility>())
            Assert.That(header, Does.Contain($"#define PREFIX_{p.ToString().ToUpperInvariant()} {(int)p}\n"));
    }

    [TestCase(8, 32)]
    [TestCase(32, 32)]
    [TestCase(33, 64)]
    [TestCase(80, 128)]
    [TestCase(128, 128)]
    [TestCase(256, 256)]
    public void HeadDimsRoundUpToAnInstantiatedKernel(int d, int bucket) => Assert.That(CudaAttention.Bucket(d), Is.EqualTo(bucket));

    [Test]
    public void HeadDimsAbove256AreRejected() => Assert.Throws<NotSupportedException>(() => CudaAttention.Bucket(257));

    [Test]
    public void HeadDim128FitsTheForwardInDefaultSharedMemory()
    {
        // The forward is the hot path at inference; the backward kernels opt into more than 48 KiB.
        Assert.That(CudaAttention.ForwardSharedBytes(128), Is.LessThanOrEqualTo(48 * 1024));
        Assert.That(CudaAttention.DkdvSharedBytes(256), Is.LessThanOrEqualTo(160 * 1024)); // within an A100's opt-in limit
    }

    [Test]
    public void EveryKernelFileOpensWithABannerAndIncludesOnlyEmbeddedHeaders()
    {
        Assert.That(KernelSources.Files.Select(f => f.FileName), Is.SupersetOf(new[]
        {
            "adamw.cu", "attention_backward.cu", "attention_forward.cu", "cross_entropy.cu", "elementwise.cu",
            "embedding.cu", "rmsnorm.cu", "rope.cu", "sum_of_squares.cu", "swiglu.cu",
            "attention_forward_bf16.cu", "attention_backward_bf16.cu",
        }));
        var headers = KernelSources.Headers.Select(h => h.Name).ToHashSet();
        foreach (var f in KernelSources.Files.Concat(KernelSources.Headers.Select(h => new KernelSource(h.Name, h.Text))))
        {
            Assert.That(f.Text, Does.StartWith($"// {f.FileName}: "), f.FileName);
            foreach (Match include in Regex.Matches(f.Text, "#include \"([^\"]+)\""))
                Assert.That(headers, Does.Contain(include.Groups[1].Value), $"{f.FileName} includes {include.Groups[1].Value}");
        }
    }
}
