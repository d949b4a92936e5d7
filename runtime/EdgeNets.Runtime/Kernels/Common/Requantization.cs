using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Requantization, the int8 epilogue of every integer kernel: int32 accumulator (+ bias) → fixed-point multiplier and
/// shift → + output zero point → clamp to the output range (activation clamps included) → int8. The scalar
/// <see cref="FixedPoint.Requantize"/> is the specification; every routine here is bit-identical to it for every
/// input with a non-negative multiplier (all multipliers the kernels accept). One implementation per vector width:
/// the lane arithmetic (MultiplyByQuantizedMultiplier, its AArch64 form <c>Rescale</c>), the output range
/// (<c>ToOutputRange</c>), the whole epilogue (<c>Requantize</c>, with one multiplier, per-lane multipliers, or the
/// constants of one channel broadcast once: <see cref="QuantizedMultiplier256"/>, <see cref="QuantizedMultiplier512"/>,
/// <see cref="ChannelRequantization512"/>) and the narrows to int8. <see cref="Requantizer"/> stores kernel tiles with it.
/// <para>
/// Why the vector form is exact: the scalar SaturatingRoundingDoublingHighMul computes, for p = a·b as int64,
/// trunc((p + nudge) / 2^31) with nudge = 2^30 when p ≥ 0 and 1 - 2^30 when p &lt; 0.
/// For p ≥ 0 the sum is non-negative, so truncation is the floor: floor((p + 2^30) / 2^31).
/// For p &lt; 0 the sum v = p + 1 - 2^30 is negative, so trunc(v / 2^31) = ceil(v / 2^31) = floor((v + 2^31 - 1) / 2^31)
/// = floor((p + 2^30) / 2^31). Both cases are therefore floor((p + 2^30) / 2^31) — the arithmetic shift of p + 2^30
/// by 31, which is bits 31..62 of that sum. With b ≥ 0 the result always fits int32 (only a = b = int.MinValue
/// saturates in the scalar routine). AArch64's SQRDMULH computes (2p + 2^31) &gt;&gt; 32, the same value.
/// RoundingDivideByPowerOfTwo is written below with the same mask/threshold steps as the scalar routine.
/// </para>
/// </summary>
internal static class Requantization
{
    internal const long Nudge = 1L << 30;

    /// <summary>SaturatingRoundingDoublingHighMul per lane; <paramref name="m"/> lanes must be non-negative. Requires AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> HighMul(Vector256<int> x, Vector256<int> m)
    {
        // vpmuldq multiplies the even int32 lanes into int64; the odd lanes are moved down by a 64-bit shift first.
        var even = Avx2.Multiply(x, m) + Vector256.Create(Nudge);
        var odd = Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), Avx2.ShiftRightLogical(m.AsInt64(), 32).AsInt32())
            + Vector256.Create(Nudge);
        // Bits 31..62: the low half of (even >>> 31) and the high half of (odd << 1).
        var low = Avx2.ShiftRightLogical(even, 31).AsInt32();
        var high = Avx2.ShiftLeftLogical(odd, 1).AsInt32();
        return Avx2.Blend(low, high, 0b1010_1010);
    }

    /// <summary>SaturatingRoundingDoublingHighMul per lane; <paramref name="m"/> lanes must be non-negative. Requires SSE4.1 or AdvSimd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> HighMul(Vector128<int> x, Vector128<int> m)
    {
        if (AdvSimd.IsSupported) return AdvSimd.MultiplyRoundedDoublingSaturateHigh(x, m);
        if (Sse41.IsSupported)
        {
            var even = Sse41.Multiply(x, m) + Vector128.Create(Nudge);
            var odd = Sse41.Multiply(Sse2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), Sse2.ShiftRightLogical(m.AsInt64(), 32).AsInt32())
                + Vector128.Create(Nudge);
            var low = Sse2.ShiftRightLogical(even, 31).AsInt16();
            var high = Sse2.ShiftLeftLogical(odd, 1).AsInt16();
            return Sse41.Blend(low, high, 0b1100_1100).AsInt32();
        }
        // Not reached by the variants (they require SSE4.1 or AdvSimd); kept exact for completeness.
        return Vector128.Create(
            FixedPoint.SaturatingRoundingDoublingHighMul(x.GetElement(0), m.GetElement(0)),
            FixedPoint.SaturatingRoundingDoublingHighMul(x.GetElement(1), m.GetElement(1)),
            FixedPoint.SaturatingRoundingDoublingHighMul(x.GetElement(2), m.GetElement(2)),
            FixedPoint.SaturatingRoundingDoublingHighMul(x.GetElement(3), m.GetElement(3)));
    }

    /// <summary>RoundingDivideByPowerOfTwo per lane, exponent in [0, 31].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> RoundingDivideByPowerOfTwo(Vector256<int> x, int exponent)
    {
        int mask = (int)((1L << exponent) - 1);
        var remainder = x & Vector256.Create(mask);
        // (mask >> 1) + (x < 0 ? 1 : 0): the arithmetic shift x >> 31 is -1 for negative lanes.
        var threshold = Vector256.Create(mask >> 1) - Vector256.ShiftRightArithmetic(x, 31);
        // GreaterThan yields -1 where true, so subtracting it adds one.
        return Vector256.ShiftRightArithmetic(x, exponent) - Vector256.GreaterThan(remainder, threshold);
    }

    /// <summary>RoundingDivideByPowerOfTwo per lane, exponent in [0, 31].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> RoundingDivideByPowerOfTwo(Vector128<int> x, int exponent)
    {
        int mask = (int)((1L << exponent) - 1);
        var remainder = x & Vector128.Create(mask);
        var threshold = Vector128.Create(mask >> 1) - Vector128.ShiftRightArithmetic(x, 31);
        return Vector128.ShiftRightArithmetic(x, exponent) - Vector128.GreaterThan(remainder, threshold);
    }

    /// <summary>MultiplyByQuantizedMultiplier per lane (multiplier ≥ 0, shift in [-31, 30]). Requires AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyByQuantizedMultiplier(Vector256<int> x, int multiplier, int shift)
    {
        // Locals rather than a QuantizedMultiplier256: a struct local here can cost the callers' accumulators their registers.
        int rightShift = shift > 0 ? 0 : -shift;
        int mask = (int)((1L << rightShift) - 1);
        return MultiplyByQuantizedMultiplier(x, Vector128.CreateScalar(shift > 0 ? shift : 0), Vector256.Create(multiplier), Vector256.Create(mask),
            Vector256.Create(mask >> 1), Vector128.CreateScalar(rightShift));
    }

    /// <summary>
    /// MultiplyByQuantizedMultiplier per lane from the broadcast constants of one (multiplier, shift) pair: the shift
    /// counts in lane 0 of <paramref name="left"/> and <paramref name="right"/>, <paramref name="mask"/> = 2^right − 1,
    /// <paramref name="half"/> = mask &gt;&gt; 1. Requires AVX2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> MultiplyByQuantizedMultiplier(Vector256<int> x, Vector128<int> left, Vector256<int> multiplier, Vector256<int> mask,
        Vector256<int> half, Vector128<int> right)
    {
        // x * (1 << leftShift) wraps exactly like a left shift of the two's-complement lanes.
        x = Avx2.ShiftLeftLogical(x, left);
        // HighMul's steps; vpmuldq reads the low int32 of each int64 lane, so the broadcast multiplier serves the odd lanes unshifted.
        var even = Avx2.Multiply(x, multiplier) + Vector256.Create(Nudge);
        var odd = Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), multiplier) + Vector256.Create(Nudge);
        var product = Avx2.Blend(Avx2.ShiftRightLogical(even, 31).AsInt32(), Avx2.ShiftLeftLogical(odd, 1).AsInt32(), 0b1010_1010);
        // RoundingDivideByPowerOfTwo's steps.
        var threshold = half - Vector256.ShiftRightArithmetic(product, 31);
        return Avx2.ShiftRightArithmetic(product, right) - Vector256.GreaterThan(product & mask, threshold);
    }

    /// <summary>MultiplyByQuantizedMultiplier per lane (multiplier ≥ 0, shift in [-31, 30]). Requires SSE4.1 or AdvSimd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyByQuantizedMultiplier(Vector128<int> x, int multiplier, int shift)
    {
        int leftShift = shift > 0 ? shift : 0;
        int rightShift = shift > 0 ? 0 : -shift;
        var product = HighMul(Vector128.ShiftLeft(x, leftShift), Vector128.Create(multiplier));
        return RoundingDivideByPowerOfTwo(product, rightShift);
    }

    /// <summary>
    /// MultiplyByQuantizedMultiplier per lane on AArch64 (multiplier ≥ 0, shift in [-31, 30]; <paramref name="shiftVector"/>
    /// holds <paramref name="shift"/> in every lane). Requires AdvSimd.
    /// <para>
    /// shift &gt; 0: SSHL wraps like the scalar x * (1 &lt;&lt; shift), then SQRDMULH (exact, see the class remarks).
    /// shift &lt; 0, e = −shift: the scalar RoundingDivideByPowerOfTwo rounds ties away from zero, SRSHL (a shift by −e)
    /// rounds them up: ⌊(q + 2^(e−1)) / 2^e⌋ without overflow. They differ only for q &lt; 0, and there subtracting one
    /// first makes them agree: with r = q mod 2^e, the scalar adds one to ⌊q / 2^e⌋ when r &gt; 2^(e−1); SRSHL of q − 1
    /// does so when r − 1 ≥ 2^(e−1) (r ≥ 1), and for r = 0 gives ⌊q / 2^e⌋ − 1 + 1, since 2^e − 1 ≥ 2^(e−1).
    /// SSRA adds q &gt;&gt; 31 (−1 for q &lt; 0) without saturating, which cannot wrap: with 0 ≤ multiplier ≤ 2^31 − 1
    /// SQRDMULH never returns int.MinValue (its lowest result is −2^31 + 1).
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Rescale(Vector128<int> x, Vector128<int> multiplier, Vector128<int> shiftVector, int shift)
    {
        if (shift > 0) return AdvSimd.MultiplyRoundedDoublingSaturateHigh(AdvSimd.ShiftArithmetic(x, shiftVector), multiplier);
        var q = AdvSimd.MultiplyRoundedDoublingSaturateHigh(x, multiplier);
        if (shift == 0) return q;
        return AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(q, q, 31), shiftVector);
    }

    /// <summary>
    /// <see cref="Rescale(Vector128{int}, Vector128{int}, Vector128{int}, int)"/> without branches, for loops over one
    /// (multiplier, shift) pair: <paramref name="left"/> = max(shift, 0), <paramref name="right"/> = min(shift, 0) and
    /// <paramref name="negativeOnly"/> = int.MinValue when shift &lt; 0, else 0 (the minus one for q &lt; 0 applies only
    /// before a rounding right shift). Requires AdvSimd.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Rescale(Vector128<int> x, Vector128<int> multiplier, Vector128<int> left, Vector128<int> right, Vector128<int> negativeOnly)
    {
        var q = AdvSimd.MultiplyRoundedDoublingSaturateHigh(AdvSimd.ShiftArithmetic(x, left), multiplier);
        return AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(q, q & negativeOnly, 31), right);
    }

    /// <summary>
    /// 16 int32 lanes (r0: the first 4) clamped to [min, max] as int8. Requires AdvSimd. The saturating narrows
    /// (SQXTN) are monotonic and leave values inside [-128, 127] unchanged, so clamping their result to a range inside
    /// int8 gives the scalar Math.Clamp of the int32 value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> NarrowClamp(Vector128<int> r0, Vector128<int> r1, Vector128<int> r2, Vector128<int> r3, Vector128<sbyte> min, Vector128<sbyte> max)
    {
        var lo = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(r0), r1);
        var hi = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(r2), r3);
        var bytes = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(lo), hi);
        return AdvSimd.Min(AdvSimd.Max(bytes, min), max);
    }

    /// <summary>8 int32 lanes clamped to [min, max] as int8 (see the 16-lane overload). Requires AdvSimd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector64<sbyte> NarrowClamp(Vector128<int> r0, Vector128<int> r1, Vector64<sbyte> min, Vector64<sbyte> max)
    {
        var s = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(r0), r1);
        return AdvSimd.Min(AdvSimd.Max(AdvSimd.ExtractNarrowingSaturateLower(s), min), max);
    }

    /// <summary>MultiplyByQuantizedMultiplier per lane (multiplier ≥ 0, shift in [-31, 30]). Requires AVX-512F.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyByQuantizedMultiplier(Vector512<int> x, int multiplier, int shift)
    {
        // Locals rather than a QuantizedMultiplier512: a struct local here can cost the callers' accumulators their registers.
        int rightShift = shift > 0 ? 0 : -shift;
        return MultiplyByQuantizedMultiplier(x, shift > 0 ? shift : 0, Vector512.Create(multiplier), QuantizedMultiplier512.Round(rightShift),
            QuantizedMultiplier512.SignTerm(rightShift), 31 + rightShift);
    }

    /// <summary>
    /// MultiplyByQuantizedMultiplier per lane in one rounding step on int64 lanes, from the constants of one (multiplier,
    /// shift) pair (<see cref="QuantizedMultiplier512"/> derives them). Requires AVX-512F.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<int> MultiplyByQuantizedMultiplier(Vector512<int> x, int leftShift, Vector512<int> multiplier, Vector512<long> round,
        Vector512<long> signTerm, int totalRightShift)
    {
        var shifted = Vector512.ShiftLeft(x, leftShift);
        // vpmuldq multiplies the even int32 lanes (the low half of each int64); the odd lanes are moved down first.
        var even = Avx512F.Multiply(shifted, multiplier);
        var odd = Avx512F.Multiply(Vector512.ShiftRightLogical(shifted.AsInt64(), 32).AsInt32(), multiplier);
        even = Vector512.ShiftRightArithmetic(even + round + (Vector512.ShiftRightArithmetic(even, 63) & signTerm), totalRightShift);
        odd = Vector512.ShiftRightArithmetic(odd + round + (Vector512.ShiftRightArithmetic(odd, 63) & signTerm), totalRightShift);
        // The results fit int32, so each is the low half of its int64 lane: the odd ones move up into the high halves.
        return Vector512.ConditionalSelect(Vector512.Create(unchecked((long)0xFFFF_FFFF_0000_0000)), Vector512.ShiftLeft(odd, 32), even).AsInt32();
    }

    /// <summary>Per-lane <see cref="FixedPoint.Requantize"/> with per-lane multipliers and shifts (per-channel outputs along the lanes): <paramref name="leftShifts"/> = max(shift, 0), <paramref name="rightShifts"/> = max(−shift, 0), <paramref name="masks"/> = 2^rightShift − 1. Requires AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyByQuantizedMultiplier(Vector256<int> x, Vector256<int> multipliers, Vector256<int> leftShifts, Vector256<int> rightShifts, Vector256<int> masks)
    {
        var product = HighMul(Avx2.ShiftLeftLogicalVariable(x, leftShifts.AsUInt32()), multipliers);
        var remainder = product & masks;
        var threshold = Vector256.ShiftRightArithmetic(masks, 1) - Vector256.ShiftRightArithmetic(product, 31);
        return Avx2.ShiftRightArithmeticVariable(product, rightShifts.AsUInt32()) - Vector256.GreaterThan(remainder, threshold);
    }

    /// <summary>Rescaled lanes plus the output zero point, clamped to [<paramref name="min"/>, <paramref name="max"/>].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> ToOutputRange(Vector128<int> rescaled, Vector128<int> zero, Vector128<int> min, Vector128<int> max) =>
        Vector128.Min(Vector128.Max(rescaled + zero, min), max);

    /// <summary>Rescaled lanes plus the output zero point, clamped to [<paramref name="min"/>, <paramref name="max"/>].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> ToOutputRange(Vector256<int> rescaled, Vector256<int> zero, Vector256<int> min, Vector256<int> max) =>
        Vector256.Min(Vector256.Max(rescaled + zero, min), max);

    /// <summary>Rescaled lanes plus the output zero point, clamped to [<paramref name="min"/>, <paramref name="max"/>].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> ToOutputRange(Vector512<int> rescaled, Vector512<int> zero, Vector512<int> min, Vector512<int> max) =>
        Vector512.Min(Vector512.Max(rescaled + zero, min), max);

    /// <summary><see cref="FixedPoint.Requantize"/> per lane (bias already in <paramref name="accumulators"/>). Requires SSE4.1 or AdvSimd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Requantize(Vector128<int> accumulators, int multiplier, int shift, Vector128<int> zero, Vector128<int> min, Vector128<int> max) =>
        ToOutputRange(MultiplyByQuantizedMultiplier(accumulators, multiplier, shift), zero, min, max);

    /// <summary><see cref="FixedPoint.Requantize"/> per lane (bias already in <paramref name="accumulators"/>). Requires AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Requantize(Vector256<int> accumulators, int multiplier, int shift, Vector256<int> zero, Vector256<int> min, Vector256<int> max) =>
        ToOutputRange(MultiplyByQuantizedMultiplier(accumulators, multiplier, shift), zero, min, max);

    /// <summary><see cref="FixedPoint.Requantize"/> per lane (bias already in <paramref name="accumulators"/>). Requires AVX-512F.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Requantize(Vector512<int> accumulators, int multiplier, int shift, Vector512<int> zero, Vector512<int> min, Vector512<int> max) =>
        ToOutputRange(MultiplyByQuantizedMultiplier(accumulators, multiplier, shift), zero, min, max);

    /// <summary>
    /// <see cref="FixedPoint.Requantize"/> of 16 lanes (a0: the first 4) with AdvSimd, as int8: <see cref="Rescale(Vector128{int}, Vector128{int}, Vector128{int}, int)"/>
    /// with one branch on the shift for all four vectors, then <see cref="NarrowClamp(Vector128{int}, Vector128{int}, Vector128{int}, Vector128{int}, Vector128{sbyte}, Vector128{sbyte})"/>.
    /// <paramref name="shiftVector"/> holds <paramref name="shift"/> in every lane. Requires AdvSimd.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> RequantizeToInt8(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3, Vector128<int> multiplier,
        Vector128<int> shiftVector, int shift, Vector128<int> zero, Vector128<sbyte> min, Vector128<sbyte> max)
    {
        if (shift > 0)
        {
            a0 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(AdvSimd.ShiftArithmetic(a0, shiftVector), multiplier);
            a1 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(AdvSimd.ShiftArithmetic(a1, shiftVector), multiplier);
            a2 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(AdvSimd.ShiftArithmetic(a2, shiftVector), multiplier);
            a3 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(AdvSimd.ShiftArithmetic(a3, shiftVector), multiplier);
        }
        else
        {
            a0 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(a0, multiplier);
            a1 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(a1, multiplier);
            a2 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(a2, multiplier);
            a3 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(a3, multiplier);
            if (shift < 0)
            {
                a0 = AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(a0, a0, 31), shiftVector);
                a1 = AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(a1, a1, 31), shiftVector);
                a2 = AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(a2, a2, 31), shiftVector);
                a3 = AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(a3, a3, 31), shiftVector);
            }
        }
        return NarrowClamp(a0 + zero, a1 + zero, a2 + zero, a3 + zero, min, max);
    }

    /// <summary>16 lanes inside the int8 range as int8 (the saturating narrow leaves them unchanged). Requires AVX-512F.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> NarrowToInt8(Vector512<int> clamped) => Avx512F.ConvertToVector128SByteWithSaturation(clamped);

    /// <summary>16 lanes inside the int8 range (<paramref name="low"/>: the first 8) as int8, in order: the truncating narrows are exact there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> NarrowToInt8(Vector256<int> low, Vector256<int> high)
    {
        var s = Vector256.Narrow(low, high);
        return Vector128.Narrow(s.GetLower(), s.GetUpper());
    }
}

/// <summary>
/// A (multiplier, shift) pair expanded once into the constants of MultiplyByQuantizedMultiplier on 256-bit lanes (the
/// steps of <see cref="Requantization.HighMul(Vector256{int}, Vector256{int})"/> and
/// <see cref="Requantization.RoundingDivideByPowerOfTwo(Vector256{int}, int)"/>), so loops that rescale by a fixed
/// pair do not rebuild them per vector.
/// Requires AVX2.
/// </summary>
internal readonly struct QuantizedMultiplier256
{
    private readonly Vector256<int> _multiplier, _mask, _half;
    private readonly Vector128<int> _left, _right;

    public QuantizedMultiplier256(int multiplier, int shift)
    {
        int rightShift = shift > 0 ? 0 : -shift;
        int mask = (int)((1L << rightShift) - 1);
        _multiplier = Vector256.Create(multiplier);
        _mask = Vector256.Create(mask);
        _half = Vector256.Create(mask >> 1);
        _left = Vector128.CreateScalar(shift > 0 ? shift : 0);
        _right = Vector128.CreateScalar(rightShift);
    }

    /// <summary>MultiplyByQuantizedMultiplier of every lane by this pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<int> Apply(Vector256<int> x) => Requantization.MultiplyByQuantizedMultiplier(x, _left, _multiplier, _mask, _half, _right);
}

/// <summary>
/// A (multiplier, shift) pair expanded once into the constants of MultiplyByQuantizedMultiplier on 512-bit lanes, so
/// loops that rescale by a fixed pair do not rebuild them per vector (the JIT cannot hoist them past the loop's stores).
/// One rounding step on int64 lanes; requires AVX-512F (64-bit arithmetic shifts).
/// <para>
/// With p = (x·2^left)·m as int64 and e = −shift ≥ 1, the scalar routine's two roundings are q = ⌊(p + 2^30) / 2^31⌋
/// (see the remarks of <see cref="Requantization"/>) and ⌊(q + 2^(e−1) − [q &lt; 0]) / 2^e⌋ (its mask/threshold steps: ties away from zero).
/// Nested floors of divisions by powers of two combine, so the result is ⌊(p + 2^30 + 2^(30+e) − [q &lt; 0]·2^31) / 2^(31+e)⌋.
/// [q &lt; 0] may be replaced by [p &lt; 0]: they differ only for −2^30 ≤ p &lt; 0, where q = 0 and both forms give 0.
/// For e = 0 the result is q itself. The int64 sums cannot overflow (|p| ≤ 2^62).
/// </para>
/// </summary>
internal readonly struct QuantizedMultiplier512
{
    private readonly Vector512<long> _round, _signTerm;
    private readonly Vector512<int> _multiplier;
    private readonly int _leftShift, _rightShift;

    public QuantizedMultiplier512(int multiplier, int shift)
    {
        _leftShift = shift > 0 ? shift : 0;
        int rightShift = shift > 0 ? 0 : -shift;
        _round = Round(rightShift);
        _signTerm = SignTerm(rightShift);
        _multiplier = Vector512.Create(multiplier);
        _rightShift = 31 + rightShift;
    }

    /// <summary>2^30 + 2^(30+e) for a right shift by e ≥ 1, 2^30 for none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<long> Round(int rightShift) =>
        Vector512.Create(rightShift == 0 ? Requantization.Nudge : Requantization.Nudge + (1L << (30 + rightShift)));

    /// <summary>−2^31, kept where p &lt; 0 (the arithmetic shift by 63 is all ones there); nothing when e = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<long> SignTerm(int rightShift) => Vector512.Create(rightShift == 0 ? 0L : -(1L << 31));

    /// <summary>MultiplyByQuantizedMultiplier of every lane by this pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<int> Apply(Vector512<int> x) => Requantization.MultiplyByQuantizedMultiplier(x, _leftShift, _multiplier, _round, _signTerm, _rightShift);
}

/// <summary>One output channel's whole requantization (bias, multiplier, zero point, clamp) with its constants broadcast once for AVX-512.</summary>
internal readonly struct ChannelRequantization512
{
    private readonly QuantizedMultiplier512 _multiplier;
    private readonly Vector512<int> _bias, _zero, _min, _max;

    public ChannelRequantization512(int bias, int multiplier, int shift, int zero, int min, int max)
    {
        _multiplier = new QuantizedMultiplier512(multiplier, shift);
        _bias = Vector512.Create(bias);
        _zero = Vector512.Create(zero);
        _min = Vector512.Create(min);
        _max = Vector512.Create(max);
    }

    /// <summary><see cref="FixedPoint.Requantize"/> of 16 sums plus the bias, as int8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector512<int> sums) =>
        Requantization.NarrowToInt8(Requantization.ToOutputRange(_multiplier.Apply(sums + _bias), _zero, _min, _max));
}
