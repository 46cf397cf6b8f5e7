namespace DrICL.Kernels;

/// <summary>
/// How a GPU device (IlgpuDevice) does its arithmetic. Tensors are fp32 in memory either way (the master weights, the
/// optimizer state, activations); the precision decides what the matrix units see.
/// </summary>
public enum ComputePrecision
{
    /// <summary>fp32 everywhere: cuBLAS SGEMM and the fp32 attention kernels. Tracks the CPU reference to float rounding.</summary>
    Fp32,
    /// <summary>
    /// Matrix multiplies read their fp32 inputs as bf16 and accumulate in fp32 on the tensor cores (cuBLAS
    /// CUBLAS_COMPUTE_32F_FAST_16BF; attention on the bf16 mma kernels for head dims up to 128 on compute
    /// capability 8.0+, else the fp32 ones); everything else stays fp32.
    /// </summary>
    Bf16,
}
