using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Int16;

/// <summary>
/// What a Conv or Gemm with int16 activations and int8 weights (TFLite's 16x8 scheme) reads to requantize its int64
/// sums: per-output-channel multipliers and shifts and the int16 output clamp; and the bounds that keep every sum within
/// ±2^47, where <see cref="Quantization.FixedPoint.MultiplyByQuantizedMultiplier(long, int, int)"/> is exact. A file
/// outside them is refused when the kernel is prepared, so the reference and every variant agree on all accepted files.
/// </summary>
internal readonly record struct Int16Requantization(int[] Multipliers, int[] Shifts, int Min, int Max)
{
    /// <summary>Largest |bias|: with <see cref="MaxDepth"/> products of at most 2^22 each, sums stay below 2^47.</summary>
    public const long MaxBias = 1L << 46;
    /// <summary>Most products summed into one output (input channels per group times kernel taps, or Gemm's K).</summary>
    public const int MaxDepth = 1 << 20;
    /// <summary>Largest output shift: the rounding shift of the 16-bit multiplier (15 − shift) must be at least one bit.</summary>
    public const int MaxShift = 14;

    /// <param name="depth">Products summed into one output.</param>
    public static Int16Requantization Read(KernelSetup s, int channels, int depth)
    {
        ExpectSymmetric(s, s.Input(0));
        ExpectSymmetric(s, s.Output(0));
        ConvKernels.ExpectSymmetricWeights(s, s.Input(1));
        if (depth > MaxDepth) throw s.Fail($"sums {depth} products per output, more than the {MaxDepth} an int16 layer may");
        if (s.HasInput(2))
        {
            var bias = s.ConstantInput<long>(2);
            for (int i = 0; i < bias.Length; i++)
                if (bias[i] < -MaxBias || bias[i] > MaxBias)
                    throw s.Fail($"bias '{s.Input(2).Name}'[{i}] = {bias[i]} is outside [-2^46, 2^46]");
        }
        var (multipliers, shifts) = ConvKernels.ReadRequantization(s, channels);
        for (int c = 0; c < shifts.Length; c++)
            if (shifts[c] > MaxShift) throw s.Fail($"OutputShift = {shifts[c]} is above {MaxShift}, the largest an int16 layer may have");
        int min = s.Attributes.GetInt(AttributeKey.QuantizedMin, short.MinValue);
        int max = s.Attributes.GetInt(AttributeKey.QuantizedMax, short.MaxValue);
        if (min < short.MinValue || max > short.MaxValue || min > max)
            throw s.Fail($"quantized clamp [{min}, {max}] must be a non-empty range within [-32768, 32767]");
        return new Int16Requantization(multipliers, shifts, min, max);
    }

    /// <summary>An int16 activation: quantized per tensor with zero point 0.</summary>
    public static void ExpectSymmetric(KernelSetup s, TensorInfo t)
    {
        var q = s.Quant(t);
        if (q.IsPerChannel || q.Scales.Length != 1) throw s.Fail($"int16 tensor '{t.Name}' must be quantized per tensor");
        if (q.ZeroPoint != 0) throw s.Fail($"int16 tensor '{t.Name}' has zero point {q.ZeroPoint}, expected 0 (symmetric)");
    }
}
