using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace DrICL.Kernels.Ilgpu;

/// <summary>
/// Every ILGPU kernel entry point of the engine, found by the convention the kernel files follow: a public static
/// void method of a static class named <c>…Kernels</c> in this namespace. A generic kernel (a head-dim bucket as a
/// struct type argument) is listed once per struct of this assembly that satisfies its constraint. A method whose
/// first parameter is an index (Index1D…) is implicitly grouped; the others are explicitly grouped (they read
/// Grid/Group themselves). Hot kernels are those whose loops run per token or per parameter in every training step
/// (attention, the cross-entropy, AdamW): the PTX report holds them to no spills and no stack frame.
/// </summary>
public static class KernelCatalog
{
    public sealed record Entry(string Name, MethodInfo Method, bool ImplicitlyGrouped, bool Hot)
    {
        /// <summary>Whether a parameter is a SpecializedValue, which ILGPU turns into a constant per value at launch.</summary>
        public bool Specialized => Method.GetParameters().Any(p => p.ParameterType.IsGenericType && p.ParameterType.GetGenericTypeDefinition() == typeof(SpecializedValue<>));
    }

    static readonly string[] HotClasses = ["FlashAttention", "CrossEntropy", "AdamW"];

    public static IReadOnlyList<Entry> All { get; } = Find(typeof(KernelCatalog).Assembly);

    static IReadOnlyList<Entry> Find(Assembly assembly)
    {
        var types = assembly.GetTypes();
        return
        [
            .. from type in types
               where type.Namespace == typeof(KernelCatalog).Namespace && type.IsAbstract && type.IsSealed && type.Name.EndsWith("Kernels", StringComparison.Ordinal)
               from method in type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
               where method.ReturnType == typeof(void)
               from kernel in Instantiate(method, types)
               let owner = type.Name[..^"Kernels".Length]
               let name = kernel.IsGenericMethod ? $"{owner}.{kernel.Name}<{string.Join(",", kernel.GetGenericArguments().Select(a => a.Name))}>" : $"{owner}.{kernel.Name}"
               orderby name
               select new Entry(name, kernel, IsIndex(kernel), HotClasses.Any(h => owner.StartsWith(h, StringComparison.Ordinal))),
        ];
    }

    // One type argument, constrained to a struct implementing some interfaces: each such struct of the assembly.
    static IEnumerable<MethodInfo> Instantiate(MethodInfo method, Type[] types)
    {
        if (!method.IsGenericMethodDefinition) return [method];
        var parameter = method.GetGenericArguments().Single();
        var constraints = parameter.GetGenericParameterConstraints().Where(c => c.IsInterface).ToArray();
        return from t in types
               where t.IsValueType && !t.IsGenericTypeDefinition && constraints.Length > 0 && constraints.All(c => c.IsAssignableFrom(t))
               orderby t.Name
               select method.MakeGenericMethod(t);
    }

    static bool IsIndex(MethodInfo method)
    {
        var first = method.GetParameters().FirstOrDefault()?.ParameterType;
        return first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D);
    }

    /// <summary>
    /// The kernel's PTX from ILGPU's own PTX backend, which needs no driver and no GPU. A kernel taking a
    /// SpecializedValue is compiled unspecialized (the value stays a parameter). After a failed compile the
    /// context is unusable: dispose it and make a new one.
    /// </summary>
    public static string EmitPtx(Context context, Entry entry, CudaArchitecture architecture, CudaInstructionSet instructionSet)
    {
        using var backend = new PTXBackend(context, new CudaCapabilityContext(architecture), architecture, instructionSet, nvvmAPI: null);
        var description = entry.ImplicitlyGrouped
            ? EntryPointDescription.FromImplicitlyGroupedKernel(entry.Method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(entry.Method);
        return ((PTXCompiledKernel)backend.Compile(description, KernelSpecialization.Empty)).PTXAssembly;
    }

    /// <summary>A context for EmitPtx: the optimization level and intrinsics the devices compile with.</summary>
    public static Context PtxContext() => Context.Create(b => b.Optimize(OptimizationLevel.O2).EnableAlgorithms());
}
