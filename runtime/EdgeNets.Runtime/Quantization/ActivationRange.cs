namespace EdgeNets.Runtime.Quantization;

/// <summary>Real-valued bounds of a fused activation (Relu: [0, inf), Relu6: [0, 6], none: all reals).</summary>
public readonly record struct ActivationRange(float Min, float Max)
{
    public static ActivationRange None => new(float.NegativeInfinity, float.PositiveInfinity);
    public static ActivationRange Relu => new(0, float.PositiveInfinity);
    public bool IsNone => float.IsNegativeInfinity(Min) && float.IsPositiveInfinity(Max);

    /// <summary>The int8 clamp [qmin, qmax] that realizes this range for an output of the given scale and zero point.</summary>
    public (int Min, int Max) ToQuantized(float scale, int zeroPoint)
    {
        int qmin = -128, qmax = 127;
        if (!float.IsNegativeInfinity(Min)) qmin = Math.Max(qmin, (int)Math.Clamp(MathF.Round(Min / scale, MidpointRounding.AwayFromZero) + zeroPoint, -128, 127));
        if (!float.IsPositiveInfinity(Max)) qmax = Math.Min(qmax, (int)Math.Clamp(MathF.Round(Max / scale, MidpointRounding.AwayFromZero) + zeroPoint, -128, 127));
        return (qmin, qmax);
    }
}
