using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// <see cref="FixedPoint.MultiplyByQuantizedMultiplier"/> on int32 lanes, bit-identical to the scalar routine for every
/// input with a non-negative multiplier (all multipliers the kernels accept).
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
internal static class FixedPointVector
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
        int leftShift = shift > 0 ? shift : 0;
        int rightShift = shift > 0 ? 0 : -shift;
        // x * (1 << leftShift) wraps exactly like a left shift of the two's-complement lanes.
        var product = HighMul(Vector256.ShiftLeft(x, leftShift), Vector256.Create(multiplier));
        return RoundingDivideByPowerOfTwo(product, rightShift);
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

    /// <summary>
    /// MultiplyByQuantizedMultiplier per lane (multiplier ≥ 0, shift in [-31, 30]) in one rounding step on int64 lanes.
    /// Requires AVX-512F (64-bit arithmetic shifts).
    /// <para>
    /// With p = (x·2^left)·m as int64 and e = −shift ≥ 1, the scalar routine's two roundings are q = ⌊(p + 2^30) / 2^31⌋
    /// (see the class remarks) and ⌊(q + 2^(e−1) − [q &lt; 0]) / 2^e⌋ (its mask/threshold steps: ties away from zero).
    /// Nested floors of divisions by powers of two combine, so the result is ⌊(p + 2^30 + 2^(30+e) − [q &lt; 0]·2^31) / 2^(31+e)⌋.
    /// [q &lt; 0] may be replaced by [p &lt; 0]: they differ only for −2^30 ≤ p &lt; 0, where q = 0 and both forms give 0.
    /// For e = 0 the result is q itself. The int64 sums cannot overflow (|p| ≤ 2^62).
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyByQuantizedMultiplier(Vector512<int> x, int multiplier, int shift)
    {
        int leftShift = shift > 0 ? shift : 0;
        int rightShift = shift > 0 ? 0 : -shift;
        var round = Vector512.Create(rightShift == 0 ? Nudge : Nudge + (1L << (30 + rightShift)));
        // −2^31 where p < 0 (the arithmetic shift by 63 is all ones there); nothing when e = 0.
        var signTerm = Vector512.Create(rightShift == 0 ? 0L : -(1L << 31));
        var m = Vector512.Create(multiplier);
        var shifted = Vector512.ShiftLeft(x, leftShift);
        // vpmuldq multiplies the even int32 lanes (the low half of each int64); the odd lanes are moved down first.
        var even = Avx512F.Multiply(shifted, m);
        var odd = Avx512F.Multiply(Vector512.ShiftRightLogical(shifted.AsInt64(), 32).AsInt32(), m);
        even = Vector512.ShiftRightArithmetic(even + round + (Vector512.ShiftRightArithmetic(even, 63) & signTerm), 31 + rightShift);
        odd = Vector512.ShiftRightArithmetic(odd + round + (Vector512.ShiftRightArithmetic(odd, 63) & signTerm), 31 + rightShift);
        // The results fit int32, so each is the low half of its int64 lane: the odd ones move up into the high halves.
        return Vector512.ConditionalSelect(Vector512.Create(unchecked((long)0xFFFF_FFFF_0000_0000)), Vector512.ShiftLeft(odd, 32), even).AsInt32();
    }

    /// <summary>
    /// <see cref="FixedPoint.QuantizeValue"/> over a span, 16 (256-bit vectors) or 8 values at a time. Same float operations as the scalar
    /// routine: t = v·inverseScale; trunc(t) plus one away from zero when |t − trunc(t)| ≥ 0.5 (t − trunc(t) is exact);
    /// + zero point; clamp to [-128, 127]; NaN gives the clamped zero point.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, Span<sbyte> destination, float inverseScale, int zeroPoint)
    {
        int i = 0, n = values.Length;
        if (Avx512F.IsSupported && destination.Length >= n)
        {
            ref float src = ref MemoryMarshal.GetReference(values);
            ref sbyte dst = ref MemoryMarshal.GetReference(destination);
            var inv = Vector512.Create(inverseScale);
            var zp = Vector512.Create((float)zeroPoint);
            var nanResult = Vector512.Create(Math.Clamp(zeroPoint, -128, 127));
            // vpmovdb truncates; the lanes are int8 values already.
            for (; i + 16 <= n; i += 16)
                Avx512F.ConvertToVector128SByte(QuantizeLanes(Vector512.LoadUnsafe(ref src, (nuint)i), inv, zp, nanResult)).StoreUnsafe(ref dst, (nuint)i);
        }
        if (Vector256.IsHardwareAccelerated && destination.Length >= n)
        {
            ref float src = ref MemoryMarshal.GetReference(values);
            ref sbyte dst = ref MemoryMarshal.GetReference(destination);
            var inv = Vector256.Create(inverseScale);
            var zp = Vector256.Create((float)zeroPoint);
            var nanResult = Vector256.Create(Math.Clamp(zeroPoint, -128, 127));
            for (; i + 16 <= n; i += 16)
            {
                var a = QuantizeLanes(Vector256.LoadUnsafe(ref src, (nuint)i), inv, zp, nanResult);
                var b = QuantizeLanes(Vector256.LoadUnsafe(ref src, (nuint)(i + 8)), inv, zp, nanResult);
                var s = Vector256.Narrow(a, b);
                Vector128.Narrow(s.GetLower(), s.GetUpper()).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        if (AdvSimd.Arm64.IsSupported && destination.Length >= n)
        {
            // FCVTAS rounds half away from zero like MathF.Round(AwayFromZero), saturates out-of-range values and gives 0
            // for NaN (then the clamped zero point, as the scalar routine). Adding the zero point with saturation and the
            // saturating narrows then give the scalar clamp: for |rounded| ≥ 2^24, where the scalar float sum may round,
            // both clamp to the same end.
            ref float src = ref MemoryMarshal.GetReference(values);
            ref sbyte dst = ref MemoryMarshal.GetReference(destination);
            var inv = Vector128.Create(inverseScale);
            var zp = Vector128.Create(zeroPoint);
            for (; i + 16 <= n; i += 16)
            {
                var a = AdvSimd.AddSaturate(AdvSimd.ConvertToInt32RoundAwayFromZero(Vector128.LoadUnsafe(ref src, (nuint)i) * inv), zp);
                var b = AdvSimd.AddSaturate(AdvSimd.ConvertToInt32RoundAwayFromZero(Vector128.LoadUnsafe(ref src, (nuint)(i + 4)) * inv), zp);
                var c = AdvSimd.AddSaturate(AdvSimd.ConvertToInt32RoundAwayFromZero(Vector128.LoadUnsafe(ref src, (nuint)(i + 8)) * inv), zp);
                var d = AdvSimd.AddSaturate(AdvSimd.ConvertToInt32RoundAwayFromZero(Vector128.LoadUnsafe(ref src, (nuint)(i + 12)) * inv), zp);
                var lo = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(a), b);
                var hi = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(c), d);
                AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(lo), hi).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        if (Vector128.IsHardwareAccelerated && destination.Length >= n)
        {
            ref float src = ref MemoryMarshal.GetReference(values);
            ref sbyte dst = ref MemoryMarshal.GetReference(destination);
            var inv = Vector128.Create(inverseScale);
            var zp = Vector128.Create((float)zeroPoint);
            var nanResult = Vector128.Create(Math.Clamp(zeroPoint, -128, 127));
            for (; i + 8 <= n; i += 8)
            {
                var a = QuantizeLanes(Vector128.LoadUnsafe(ref src, (nuint)i), inv, zp, nanResult);
                var b = QuantizeLanes(Vector128.LoadUnsafe(ref src, (nuint)(i + 4)), inv, zp, nanResult);
                var bytes = Vector128.Narrow(Vector128.Narrow(a, b), Vector128<short>.Zero);
                Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref dst, i)), bytes.AsInt64().ToScalar());
            }
        }
        for (; i < n; i++) destination[i] = FixedPoint.QuantizeValue(values[i], inverseScale, zeroPoint);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> QuantizeLanes(Vector512<float> v, Vector512<float> inverseScale, Vector512<float> zeroPoint, Vector512<int> nanResult)
    {
        var t = v * inverseScale;
        var whole = Vector512.Truncate(t);
        var awayFromZero = Vector512.GreaterThanOrEqual(Vector512.Abs(t - whole), Vector512.Create(0.5f));
        var rounded = Vector512.ConditionalSelect(awayFromZero, whole + Vector512.CopySign(Vector512.Create(1f), t), whole);
        var scaled = rounded + zeroPoint;
        var clamped = Vector512.Min(Vector512.Max(scaled, Vector512.Create(-128f)), Vector512.Create(127f));
        var isNaN = ~Vector512.Equals(scaled, scaled).AsInt32();
        return Vector512.ConditionalSelect(isNaN, nanResult, Vector512.ConvertToInt32(clamped));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> QuantizeLanes(Vector256<float> v, Vector256<float> inverseScale, Vector256<float> zeroPoint, Vector256<int> nanResult)
    {
        var t = v * inverseScale;
        var whole = Vector256.Truncate(t);
        var awayFromZero = Vector256.GreaterThanOrEqual(Vector256.Abs(t - whole), Vector256.Create(0.5f));
        var rounded = Vector256.ConditionalSelect(awayFromZero, whole + Vector256.CopySign(Vector256.Create(1f), t), whole);
        var scaled = rounded + zeroPoint;
        var clamped = Vector256.Min(Vector256.Max(scaled, Vector256.Create(-128f)), Vector256.Create(127f));
        var isNaN = ~Vector256.Equals(scaled, scaled).AsInt32();
        return Vector256.ConditionalSelect(isNaN, nanResult, Vector256.ConvertToInt32(clamped));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> QuantizeLanes(Vector128<float> v, Vector128<float> inverseScale, Vector128<float> zeroPoint, Vector128<int> nanResult)
    {
        var t = v * inverseScale;
        var whole = Vector128.Truncate(t);
        var awayFromZero = Vector128.GreaterThanOrEqual(Vector128.Abs(t - whole), Vector128.Create(0.5f));
        var rounded = Vector128.ConditionalSelect(awayFromZero, whole + Vector128.CopySign(Vector128.Create(1f), t), whole);
        var scaled = rounded + zeroPoint;
        var clamped = Vector128.Min(Vector128.Max(scaled, Vector128.Create(-128f)), Vector128.Create(127f));
        var isNaN = ~Vector128.Equals(scaled, scaled).AsInt32();
        return Vector128.ConditionalSelect(isNaN, nanResult, Vector128.ConvertToInt32(clamped));
    }
}

/// <summary>
/// A (multiplier, shift) pair expanded once into the constants of <see cref="FixedPointVector.MultiplyByQuantizedMultiplier(Vector512{int}, int, int)"/>,
/// so loops that rescale by a fixed pair do not rebuild them per vector (the JIT cannot hoist them past the loop's stores).
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
        _round = Vector512.Create(rightShift == 0 ? FixedPointVector.Nudge : FixedPointVector.Nudge + (1L << (30 + rightShift)));
        // −2^31 where p < 0 (the arithmetic shift by 63 is all ones there); nothing when e = 0.
        _signTerm = Vector512.Create(rightShift == 0 ? 0L : -(1L << 31));
        _multiplier = Vector512.Create(multiplier);
        _rightShift = 31 + rightShift;
    }

    /// <summary>The same steps as the Vector512 MultiplyByQuantizedMultiplier (its remarks derive them). Requires AVX-512F.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<int> Apply(Vector512<int> x)
    {
        var shifted = Vector512.ShiftLeft(x, _leftShift);
        // vpmuldq multiplies the even int32 lanes (the low half of each int64); the odd lanes are moved down first.
        var even = Avx512F.Multiply(shifted, _multiplier);
        var odd = Avx512F.Multiply(Vector512.ShiftRightLogical(shifted.AsInt64(), 32).AsInt32(), _multiplier);
        even = Vector512.ShiftRightArithmetic(even + _round + (Vector512.ShiftRightArithmetic(even, 63) & _signTerm), _rightShift);
        odd = Vector512.ShiftRightArithmetic(odd + _round + (Vector512.ShiftRightArithmetic(odd, 63) & _signTerm), _rightShift);
        // The results fit int32, so each is the low half of its int64 lane: the odd ones move up into the high halves.
        return Vector512.ConditionalSelect(Vector512.Create(unchecked((long)0xFFFF_FFFF_0000_0000)), Vector512.ShiftLeft(odd, 32), even).AsInt32();
    }
}
