using DrICL.Kernels;
using DrICL.Kernels.Ilgpu;
using NUnit.Framework;

namespace DrICL.Tests.Ilgpu;

/// <summary>The caching allocator's size classes and bookkeeping, over a fake device that hands out numbered blocks.</summary>
public class BlockCacheTests
{
    sealed class FakeDevice
    {
        public long Capacity = long.MaxValue;
        public long Used;
        public readonly Dictionary<nint, long> Live = [];
        public int Allocations;
        nint next = 0x1000;

        public nint Allocate(long size)
        {
            if (Used + size > Capacity) return 0;
            Allocations++;
            Used += size;
            Live.Add(next, size);
            return next++;
        }

        public void Free(nint pointer)
        {
            Used -= Live[pointer];
            Live.Remove(pointer);
        }
    }

    [TestCase(0, 512)]
    [TestCase(1, 512)]
    [TestCase(512, 512)]
    [TestCase(513, 1024)]
    [TestCase(1 << 20, 1 << 20)]
    [TestCase((1 << 20) + 1, 2 << 20)]
    [TestCase(3 << 20, 4 << 20)]            // 2 MiB steps up to 32 MiB
    [TestCase(64L << 20, 64L << 20)]       // a power of two is its own class
    [TestCase((64L << 20) + 1, 72L << 20)] // above it, steps of 128/16 = 8 MiB
    [TestCase(4L << 30, 4L << 30)]
    public void RequestsRoundUpToTheirSizeClass(long bytes, long size) => Assert.That(BlockCache.SizeClass(bytes), Is.EqualTo(size));

    [Test]
    public void LargeClassesWasteLessThanAnEighth()
    {
        var rng = new Random(5);
        for (int i = 0; i < 10_000; i++)
        {
            long bytes = BlockCache.SmallLimit + (long)(rng.NextDouble() * (8L << 30));
            long size = BlockCache.SizeClass(bytes);
            Assert.That(size, Is.GreaterThanOrEqualTo(bytes));
            Assert.That(size - bytes, Is.LessThan(Math.Max(BlockCache.LargeGranule, bytes / 8)), $"{bytes} -> {size}");
            Assert.That(BlockCache.SizeClass(size), Is.EqualTo(size), "a class is its own class");
        }
    }

    [Test]
    public void AReturnedBlockServesTheNextRequestOfItsClass()
    {
        var device = new FakeDevice();
        var cache = new BlockCache<nint>(device.Allocate, device.Free);
        nint a = cache.Take(1000);
        cache.Return(a, 1000);
        Assert.That(cache.Take(1020), Is.EqualTo(a), "1000 and 1020 bytes share the 1024 class");
        Assert.That(cache.Take(1000), Is.Not.EqualTo(a), "a block in use is not handed out twice");
        nint big = cache.Take(2000);
        cache.Return(big, 2000);
        Assert.That(cache.Take(1000), Is.Not.EqualTo(big), "a larger class does not serve a smaller one");
        Assert.That(device.Allocations, Is.EqualTo(4));
    }

    [Test]
    public void BytesInUseAndPeakFollowTakeAndReturn()
    {
        var device = new FakeDevice();
        var cache = new BlockCache<nint>(device.Allocate, device.Free);
        nint a = cache.Take(100), b = cache.Take(3 << 20);
        Assert.That(cache.BytesInUse, Is.EqualTo(512 + (4L << 20)));
        cache.Return(b, 3 << 20);
        Assert.That((cache.BytesInUse, cache.BytesCached, cache.PeakBytes), Is.EqualTo((512L, 4L << 20, 512 + (4L << 20))));
        cache.ResetPeak();
        Assert.That(cache.PeakBytes, Is.EqualTo(512));
        cache.Take(4 << 20);
        Assert.That((cache.BytesInUse, cache.BytesCached, cache.PeakBytes), Is.EqualTo((512 + (4L << 20), 0L, 512 + (4L << 20))));
        cache.Return(a, 100);
        Assert.That(cache.BytesInUse, Is.EqualTo(4L << 20));
        Assert.That(device.Used, Is.EqualTo(512 + (4L << 20)), "returning keeps the block");
    }

    [Test]
    public void ReleasingTheCacheFreesOnlyCachedBlocks()
    {
        var device = new FakeDevice();
        var cache = new BlockCache<nint>(device.Allocate, device.Free);
        nint kept = cache.Take(10_000);
        foreach (var bytes in new long[] { 1, 600, 5 << 20, 5 << 20 }) cache.Return(cache.Take(bytes), bytes);
        Assert.That(device.Live, Has.Count.EqualTo(4), "the two 5 MiB requests reused one block");
        cache.ReleaseCached();
        Assert.That(device.Live.Keys, Is.EqualTo(new[] { kept }));
        Assert.That((cache.BytesCached, cache.BytesInUse), Is.EqualTo((0L, 10_240L)));
    }

    [Test]
    public void AFailedAllocationCountsNothingAndReleasingTheCacheMakesRoom()
    {
        var device = new FakeDevice { Capacity = 8L << 20 };
        var cache = new BlockCache<nint>(device.Allocate, device.Free);
        cache.Return(cache.Take(6L << 20), 6L << 20);
        Assert.That(cache.Take(4L << 20), Is.EqualTo((nint)0), "the cached 6 MiB block fills the device");
        Assert.That((cache.BytesInUse, cache.BytesCached), Is.EqualTo((0L, 6L << 20)));
        cache.ReleaseCached();
        Assert.That(cache.Take(4L << 20), Is.Not.EqualTo((nint)0));
    }
}
