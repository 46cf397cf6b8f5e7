namespace DrICL.Kernels;

/// <summary>AdamW hyperparameters with PyTorch semantics (decoupled weight decay, bias correction).</summary>
public readonly record struct AdamWConfig(float Lr, float Beta1, float Beta2, float Eps, float WeightDecay);
