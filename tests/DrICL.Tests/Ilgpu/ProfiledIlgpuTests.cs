using System.Text.Json;
using DrICL.Kernels;
using DrICL.Kernels.Profiling;
using NUnit.Framework;

namespace DrICL.Tests.Ilgpu;

/// <summary>--profile on IlgpuDevice: its ops are timed by profiling markers on its stream, resolved when the profile ends.</summary>
[Category("Gpu")]
[NonParallelizable]
public class ProfiledIlgpuTests
{
    [Test]
    public void OpsAreTimedByStreamMarkersInIssueOrder()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dricl-ilgpu-profile-{Guid.NewGuid():N}.json");
        try
        {
            using (var gpu = IlgpuParityTests.OpenDevice(ComputePrecision.Fp32))
            using (var device = new ProfiledDevice(gpu, path, new Dictionary<string, object> { ["command"] = "test" }))
            {
                var a = device.Upload(Enumerable.Range(0, 48 * 40).Select(i => (i % 7) * 0.1f).ToArray(), 48, 40);
                var b = device.Upload(Enumerable.Range(0, 40 * 24).Select(i => (i % 5) * 0.1f).ToArray(), 40, 24);
                var c = device.Zeros(48, 24);
                device.MatMul(a, b, c, transA: false, transB: false, accumulate: false);
                device.Scale(c, 0.5f);
                c.ToArray();
            }
            using var trace = JsonDocument.Parse(File.ReadAllText(path));
            Assert.That(trace.RootElement.GetProperty("otherData").GetProperty("timer").GetString(), Does.StartWith("ILGPU profiling markers"));
            var ops = trace.RootElement.GetProperty("traceEvents").EnumerateArray()
                .Where(e => e.GetProperty("ph").GetString() == "X")
                .Select(e => (Name: e.GetProperty("name").GetString(), Ts: e.GetProperty("ts").GetDouble(), Dur: e.GetProperty("dur").GetDouble()))
                .ToList();
            Assert.That(ops.Select(o => o.Name), Is.EqualTo(new[] { "Upload", "Upload", "Zeros", "MatMul", "Scale" }));
            Assert.That(ops, Has.All.Matches<(string? Name, double Ts, double Dur)>(o => o.Dur >= 0 && o.Ts >= 0));
            Assert.That(ops.Single(o => o.Name == "MatMul").Dur, Is.GreaterThan(0));
            Assert.That(ops.Select(o => o.Ts), Is.Ordered);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
