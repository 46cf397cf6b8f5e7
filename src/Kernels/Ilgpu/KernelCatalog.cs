using System.Reflection;
using ILGPU;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Every ILGPU kernel entry point of the engine, found by the convention the kernel files follow: a public static
/// void method of a static class named <c>…Kernels</c> in this namespace. A method whose first parameter is an
/// index (Index1D…) is implicitly grouped; the others are explicitly grouped (they read Grid/Group themselves).
/// Hot kernels are those whose loops run per token or per parameter in every training step (attention, the
/// cross-entropy, AdamW): the PTX report holds them to no spills and no stack frame.
/// </summary>
public static class KernelCatalog
{
    public sealed record Entry(string Name, MethodInfo Method, bool ImplicitlyGrouped, bool Hot);

    static readonly string[] HotClasses = ["FlashAttention", "CrossEntropy", "AdamW"];

    public static IReadOnlyList<Entry> All { get; } = Find(typeof(KernelCatalog).Assembly);

    internal static IReadOnlyList<Entry> Find(Assembly assembly) =>
    [
        .. from type in assembly.GetTypes()
           where type.Namespace == typeof(KernelCatalog).Namespace && type.IsAbstract && type.IsSealed && type.Name.EndsWith("Kernels", StringComparison.Ordinal)
           from method in type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
           where method.ReturnType == typeof(void) && !method.IsGenericMethodDefinition
           let owner = type.Name[..^"Kernels".Length]
           orderby type.Name, method.Name
           select new Entry($"{owner}.{method.Name}", method, IsIndex(method), HotClasses.Any(h => owner.StartsWith(h, StringComparison.Ordinal))),
    ];

    static bool IsIndex(MethodInfo method)
    {
        var first = method.GetParameters().FirstOrDefault()?.ParameterType;
        return first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D);
    }
}
