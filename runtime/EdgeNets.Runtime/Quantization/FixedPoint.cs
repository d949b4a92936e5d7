using System.Runtime.CompilerServices;

namespace EdgeNets.Runtime.Quantization;

/// <summary>
/// Fixed-point requantization as TFLite's int8 spec defines it. The converter turns each real multiplier into
/// (multiplier, shift) with <see cref="QuantizeMultiplier"/>; every kernel, scalar or SIMD, rescales accumulators with
/// <see cref="MultiplyByQuantizedMultiplier"/> so all produce identical bytes on every CPU.
/// </summary>
public static class FixedPoint
{
    /// <summary>
    /// Splits a non-negative real multiplier into a Q31 multiplier in [2^30, 2^31) and a power-of-two exponent:
    /// real ≈ multiplier * 2^(shift - 31). Shift &gt; 0 is a left shift.
    /// </summary>
    public static (int Multiplier, int Shift) QuantizeMultiplier(double realMultiplier)
    {
        if (!(realMultiplier >= 0) || double.IsInfinity(realMultiplier))
            throw new ArgumentOutOfRangeException(nameof(realMultiplier), realMultiplier, "multiplier must be finite and non-negative");
        if (realMultiplier == 0) return (0, 0);
        int exponent = Math.ILogB(realMultiplier) + 1;              // real = fraction * 2^exponent, fraction in [0.5, 1)
        double fraction = Math.ScaleB(realMultiplier, -exponent);
        long q = (long)Math.Round(fraction * (1L << 31), MidpointRounding.AwayFromZero);
        if (q == 1L << 31) { q /= 2; exponent++; }
        if (exponent < -31) return (0, 0);                          // too small to matter: everything rounds to zero
        if (exponent > 30) throw new ArgumentOutOfRangeException(nameof(realMultiplier), realMultiplier, "multiplier too large for fixed point");
        return ((int)q, exponent);
    }

    /// <summary>(a * b * 2) / 2^32 rounded to nearest, saturating the single overflow case a == b == int.MinValue.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SaturatingRoundingDoublingHighMul(int a, int b)
    {
        if (a == int.MinValue && b == int.MinValue) return int.MaxValue;
        long ab = (long)a * b;
        long nudge = ab >= 0 ? (1L << 30) : 1 - (1L << 30);
        // Division truncates toward zero as in gemmlowp; an arithmetic shift would floor and bias negative values down.
        return (int)((ab + nudge) / (1L << 31));
    }

    /// <summary>x / 2^exponent rounded to nearest, ties away from zero (gemmlowp RoundingDivideByPOT).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RoundingDivideByPowerOfTwo(int x, int exponent)
    {
        int mask = (int)((1L << exponent) - 1);
        int remainder = x & mask;
        int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
        return (x >> exponent) + (remainder > threshold ? 1 : 0);
    }

    /// <summary>Rescales an int32 accumulator by a (multiplier, shift) pair from <see cref="QuantizeMultiplier"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MultiplyByQuantizedMultiplier(int x, int multiplier, int shift)
    {
        int leftShift = shift > 0 ? shift : 0;
        int rightShift = shift > 0 ? 0 : -shift;
        return RoundingDivideByPowerOfTwo(SaturatingRoundingDoublingHighMul(x * (1 << leftShift), multiplier), rightShift);
    }

    /// <summary>Accumulator to int8 output: rescale, add the output zero point, clamp to [min, max].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte Requantize(int accumulator, int multiplier, int shift, int outputZeroPoint, int min, int max)
    {
        int v = MultiplyByQuantizedMultiplier(accumulator, multiplier, shift) + outputZeroPoint;
        return (sbyte)Math.Clamp(v, min, max);
    }

    /// <summary>Float to int8 with the tensor's scale and zero point (round half away from zero, saturate).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte QuantizeValue(float value, float inverseScale, int zeroPoint)
    {
        float scaled = MathF.Round(value * inverseScale, MidpointRounding.AwayFromZero) + zeroPoint;
        if (float.IsNaN(scaled)) return (sbyte)Math.Clamp(zeroPoint, -128, 127);
        return (sbyte)Math.Clamp(scaled, -128f, 127f);
    }

    /// <summary>
    /// Rescales an int64 accumulator of an int16 layer as TFLite's 16x8 kernels do: the Q31 multiplier rounded to 16
    /// bits, one rounding shift (ties toward +infinity). Exact for |x| &lt; 2^47 and shift &lt;= 14, which the int16 kernels
    /// check when prepared; the result is not clamped (callers clamp it to the int16 output range).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long MultiplyByQuantizedMultiplier(long x, int multiplier, int shift)
    {
        long reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
        int totalShift = 15 - shift;
        return (x * reduced + (1L << (totalShift - 1))) >> totalShift;
    }

    /// <summary>int64 accumulator to int16 output (zero point 0): rescale, clamp to [min, max].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static short RequantizeInt16(long accumulator, int multiplier, int shift, int min, int max) =>
        (short)Math.Clamp(MultiplyByQuantizedMultiplier(accumulator, multiplier, shift), min, max);

    /// <summary>Float to symmetric int16 (round half away from zero, saturate to [-32768, 32767]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static short QuantizeInt16(float value, float inverseScale)
    {
        float scaled = MathF.Round(value * inverseScale, MidpointRounding.AwayFromZero);
        if (float.IsNaN(scaled)) return 0;
        return (short)Math.Clamp(scaled, -32768f, 32767f);
    }
}
