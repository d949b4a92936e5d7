using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Converter.Quantization;

/// <summary>Scale and zero-point arithmetic of the TFLite int8 spec, and the tables of table-driven int8 ops.</summary>
internal static class QuantParams
{
    /// <summary>
    /// Asymmetric per-tensor int8 parameters for a real range: the range is widened to contain 0, so real 0 is an
    /// exact integer; scale = (max - min) / 255, zp = round(-128 - min / scale).
    /// </summary>
    public static QuantizationInfo Asymmetric(float min, float max)
    {
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        if (!float.IsFinite(min) || !float.IsFinite(max))
            throw new ConversionException($"cannot quantize the non-finite range [{min}, {max}]");
        double range = (double)max - min;
        // A tensor that is always zero needs some scale; any positive one represents it exactly.
        float scale = range > 0 ? (float)(range / 255) : 1f / 255;
        int zeroPoint = range > 0 ? (int)Math.Round(-128 - min / (double)scale, MidpointRounding.AwayFromZero) : -128;
        return QuantizationInfo.PerTensor(scale, Math.Clamp(zeroPoint, -128, 127));
    }

    /// <summary>Symmetric scale for values in [-maxAbs, maxAbs] onto [-127, 127] (zp 0).</summary>
    public static float SymmetricScale(double maxAbs) => maxAbs > 0 ? (float)(maxAbs / 127) : 1f;

    public static sbyte QuantizeSymmetric(float value, float scale) =>
        (sbyte)Math.Clamp(Math.Round(value / (double)scale, MidpointRounding.AwayFromZero), -127, 127);

    public static sbyte[] QuantizeAsymmetric(ReadOnlySpan<float> values, QuantizationInfo q)
    {
        var result = new sbyte[values.Length];
        float inverse = 1f / q.Scale;
        for (int i = 0; i < values.Length; i++) result[i] = FixedPoint.QuantizeValue(values[i], inverse, q.ZeroPoint);
        return result;
    }


    /// <summary>
    /// The fixed-point form of a real rescaling factor (a ratio of scales). Scales from extreme weights or ranges can
    /// put it out of what an int32 multiplier and shift hold: refused (the quantizer names the operator).
    /// </summary>
    public static (int Multiplier, int Shift) Multiplier(double real)
    {
        try { return FixedPoint.QuantizeMultiplier(real); }
        catch (ArgumentOutOfRangeException)
        {
            throw new ConversionDetailException($"the requantization factor {real:G6} (a ratio of scales) is outside the fixed-point range [0, 2^30)");
        }
    }
}
