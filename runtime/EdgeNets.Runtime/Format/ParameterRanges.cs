using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Format;

/// <summary>
/// The ranges every quantization parameter of a model must lie in, checked once while the file is read: a tensor's
/// scales and zero point by its element type, each integer attribute of the fixed-point arithmetic by its key,
/// whatever operator carries it, and float constants (finite). Kernels may assume these ranges, so the scalar reference and every SIMD variant
/// compute the same bytes for any file the loader accepts (the converter never writes values outside them).
/// </summary>
public static class ParameterRanges
{
    /// <summary>Null when the scale is usable: a positive normal float whose reciprocal is a normal float too.</summary>
    public static string? CheckScale(float scale) =>
        float.IsNormal(scale) && scale > 0 && float.IsNormal(1f / scale) ? null : $"scale {scale} is not a positive normal number with a normal reciprocal";

    /// <summary>The zero points a tensor of <paramref name="type"/> may have: the element type's range for int8/uint8.</summary>
    public static (int Min, int Max) ZeroPoint(DataType type) => type switch
    {
        DataType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
        DataType.UInt8 => (byte.MinValue, byte.MaxValue),
        // int16 activations are symmetric (TFLite's 16x8 scheme): the kernels never subtract a zero point.
        DataType.Int16 => (0, 0),
        // int32 sums (biases) and float tensors: bounded so that q - zeroPoint cannot overflow for values near zero.
        _ => (int.MinValue / 2, int.MaxValue / 2),
    };

    /// <summary>Null when <paramref name="value"/> is allowed for integer attribute <paramref name="key"/>, else why not.</summary>
    public static string? CheckInt(AttributeKey key, int value) => key switch
    {
        // The converter writes 0 or [2^30, 2^31); the kernels compute any non-negative multiplier identically.
        AttributeKey.OutputMultiplier or AttributeKey.InputMultiplier when value < 0 => $"{value} is negative",
        AttributeKey.OutputShift or AttributeKey.InputShift when value is < -31 or > 30 => $"{value} is outside [-31, 30]",
        AttributeKey.LeftShift when value is < 0 or > 22 => $"{value} is outside [0, 22]",
        AttributeKey.QuantizedPadValue when value is < sbyte.MinValue or > sbyte.MaxValue => $"{value} is outside [-128, 127]",
        // Clamps of int16 layers use the int16 range; int8 kernels check their clamp against int8's when prepared.
        AttributeKey.QuantizedMin or AttributeKey.QuantizedMax when value is < short.MinValue or > short.MaxValue =>
            $"{value} is outside [-32768, 32767]",
        _ => null,
    };

    /// <summary>Null when <paramref name="value"/> is allowed for float attribute <paramref name="key"/>: any number but NaN (bounds may be infinite).</summary>
    public static string? CheckFloat(AttributeKey key, float value) => float.IsNaN(value) ? "NaN is not a value" : null;

    /// <summary>
    /// Null when every value of a float32 constant (weights, biases, tables) is finite; else where the first other one
    /// is. NaN and infinities never come out of a trained model's conversion, and kernels propagate them differently.
    /// </summary>
    public static string? CheckFloatConstant(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return $"element {i} is {values[i]}; float constants must be finite";
        return null;
    }

    /// <summary>Checks every attribute of an operator; throws naming the operator, the attribute and the value.</summary>
    public static void CheckAttributes(OpInfo op)
    {
        foreach (var (key, values) in op.Attributes.Ints)
            for (int i = 0; i < values.Length; i++)
                if (CheckInt(key, values[i]) is { } why) throw new ModelFormatException($"{op}: attribute {key}[{i}] = {why}");
        foreach (var (key, values) in op.Attributes.Floats)
            for (int i = 0; i < values.Length; i++)
                if (CheckFloat(key, values[i]) is { } why) throw new ModelFormatException($"{op}: attribute {key}[{i}]: {why}");
        var min = op.Attributes.GetInts(AttributeKey.QuantizedMin);
        var max = op.Attributes.GetInts(AttributeKey.QuantizedMax);
        if (min is { Length: > 0 } && max is { Length: > 0 } && min[0] > max[0])
            throw new ModelFormatException($"{op}: quantized clamp [{min[0]}, {max[0]}] is empty");
    }
}
