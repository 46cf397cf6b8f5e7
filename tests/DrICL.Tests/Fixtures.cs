namespace DrICL.Tests;

/// <summary>Paths to the golden fixtures copied next to the test assembly (from ../shared/fixtures).</summary>
public static class Fixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures");
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);
}
