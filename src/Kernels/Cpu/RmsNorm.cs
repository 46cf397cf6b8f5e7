namespace DrICL.Kernels.Cpu;

/// <summary>RMSNorm: y = x * rsqrt(mean(x^2) + eps) * w, over the last dimension.</summary>
public static partial class RmsNorm
{
    // x: [N,C], w: [C] -> y: [N,C], rstd: [N]
    public static void ForwardReference(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, Span<float> rstd, int n, int c, float eps)
    {
        for (int r = 0; r < n; r++)
        {
            double ss = 0;
            for (int i = 0; i < c; i++) ss += (double)x[r * c + i] * x[r * c + i];
            float rs = (float)(1.0 / Math.Sqrt(ss / c + eps));
            rstd[r] = rs;
            for (int i = 0; i < c; i++) y[r * c + i] = x[r * c + i] * rs * w[i];
        }
    }

    // dy: [N,C] -> dx: [N,C] (overwritten), dw: [C] (accumulated).
    // With xhat = x * rstd: dx = rstd * (dy*w - xhat * mean(dy*w*xhat)), dw += sum_rows dy * xhat.
    public static void BackwardReference(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> rstd, Span<float> dx, Span<float> dw, int n, int c)
    {
        for (int r = 0; r < n; r++)
        {
            float rs = rstd[r];
            double dot = 0;
            for (int i = 0; i < c; i++) dot += (double)dy[r * c + i] * w[i] * x[r * c + i] * rs;
            float mean = (float)(dot / c);
            for (int i = 0; i < c; i++)
            {
                float xhat = x[r * c + i] * rs;
                dx[r * c + i] = rs * (dy[r * c + i] * w[i] - xhat * mean);
                dw[i] += dy[r * c + i] * xhat;
            }
        }
    }
}
