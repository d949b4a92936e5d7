using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Quantization;

/// <summary>Tables that int8 models use in place of non-linear functions (LookupTable and Softmax operators).</summary>
public static class LookupTables
{
    /// <summary>
    /// The int8 table of a unary function: entry i is f applied to the real value of input code (i - 128),
    /// quantized to the output's scale and zero point.
    /// </summary>
    public static sbyte[] BuildUnary(Func<float, float> f, QuantizationInfo input, QuantizationInfo output)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        float inverseOutputScale = 1f / output.Scale;
        var table = new sbyte[256];
        for (int i = 0; i < 256; i++)
        {
            float x = input.Scale * (i - 128 - input.ZeroPoint);
            table[i] = FixedPoint.QuantizeValue(f(x), inverseOutputScale, output.ZeroPoint);
        }
        return table;
    }

    /// <summary>ExpTable of an int8 Softmax: entry d is exp(-d · inputScale), the weight of a code d steps below the maximum.</summary>
    public static float[] BuildSoftmaxExpTable(float inputScale)
    {
        if (!(inputScale > 0) || float.IsInfinity(inputScale))
            throw new ArgumentOutOfRangeException(nameof(inputScale), inputScale, "scale must be positive and finite");
        var table = new float[256];
        for (int d = 0; d < 256; d++) table[d] = (float)Math.Exp(-d * (double)inputScale);
        return table;
    }
}
