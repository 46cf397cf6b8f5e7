using DrICL.Kernels;

namespace DrICL.Model.Autograd;

/// <summary>A tensor in the computation graph: its value and, once backward reaches it, its gradient.</summary>
public sealed class Var(Tensor value, bool requiresGrad = false)
{
    public Tensor Value { get; } = value;
    public Tensor? Grad { get; internal set; }
    public bool RequiresGrad { get; } = requiresGrad;

    public int[] Shape => Value.Shape;
    public int Rows => Value.Rows;
    public int Columns => Value.Columns;

    public override string ToString() => $"Var{Tensor.Format(Shape)}";
}
