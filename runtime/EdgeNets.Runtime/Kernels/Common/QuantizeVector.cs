using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// <see cref="FixedPoint.QuantizeValue"/> on float lanes: the float-to-int8 quantization of graph inputs and of the
/// recurrent kernels' float states, bit-identical to the scalar routine.
/// </summary>
internal static class QuantizeVector
{
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
    private static Vector512<int> QuantizeLanes(Vector512<float> v, Vector512<float> inverseScale, Vector512<float> zeroPoint, Vector512<int> nanResult) =>
        RoundToInt8(v * inverseScale, zeroPoint, nanResult);

    /// <summary>t rounded half away from zero, plus the zero point, clamped to [-128, 127]; NaN lanes give <paramref name="nanResult"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<int> RoundToInt8(Vector512<float> t, Vector512<float> zeroPoint, Vector512<int> nanResult)
    {
        var whole = Vector512.Truncate(t);
        var awayFromZero = Vector512.GreaterThanOrEqual(Vector512.Abs(t - whole), Vector512.Create(0.5f));
        var rounded = Vector512.ConditionalSelect(awayFromZero, whole + Vector512.CopySign(Vector512.Create(1f), t), whole);
        var scaled = rounded + zeroPoint;
        var clamped = Vector512.Min(Vector512.Max(scaled, Vector512.Create(-128f)), Vector512.Create(127f));
        var isNaN = ~Vector512.Equals(scaled, scaled).AsInt32();
        return Vector512.ConditionalSelect(isNaN, nanResult, Vector512.ConvertToInt32(clamped));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> QuantizeLanes(Vector256<float> v, Vector256<float> inverseScale, Vector256<float> zeroPoint, Vector256<int> nanResult) =>
        RoundToInt8(v * inverseScale, zeroPoint, nanResult);

    /// <summary>t rounded half away from zero, plus the zero point, clamped to [-128, 127]; NaN lanes give <paramref name="nanResult"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> RoundToInt8(Vector256<float> t, Vector256<float> zeroPoint, Vector256<int> nanResult)
    {
        var whole = Vector256.Truncate(t);
        var awayFromZero = Vector256.GreaterThanOrEqual(Vector256.Abs(t - whole), Vector256.Create(0.5f));
        var rounded = Vector256.ConditionalSelect(awayFromZero, whole + Vector256.CopySign(Vector256.Create(1f), t), whole);
        var scaled = rounded + zeroPoint;
        var clamped = Vector256.Min(Vector256.Max(scaled, Vector256.Create(-128f)), Vector256.Create(127f));
        var isNaN = ~Vector256.Equals(scaled, scaled).AsInt32();
        return Vector256.ConditionalSelect(isNaN, nanResult, Vector256.ConvertToInt32(clamped));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> QuantizeLanes(Vector128<float> v, Vector128<float> inverseScale, Vector128<float> zeroPoint, Vector128<int> nanResult) =>
        RoundToInt8(v * inverseScale, zeroPoint, nanResult);

    /// <summary>t rounded half away from zero, plus the zero point, clamped to [-128, 127]; NaN lanes give <paramref name="nanResult"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> RoundToInt8(Vector128<float> t, Vector128<float> zeroPoint, Vector128<int> nanResult)
    {
        var whole = Vector128.Truncate(t);
        var awayFromZero = Vector128.GreaterThanOrEqual(Vector128.Abs(t - whole), Vector128.Create(0.5f));
        var rounded = Vector128.ConditionalSelect(awayFromZero, whole + Vector128.CopySign(Vector128.Create(1f), t), whole);
        var scaled = rounded + zeroPoint;
        var clamped = Vector128.Min(Vector128.Max(scaled, Vector128.Create(-128f)), Vector128.Create(127f));
        var isNaN = ~Vector128.Equals(scaled, scaled).AsInt32();
        return Vector128.ConditionalSelect(isNaN, nanResult, Vector128.ConvertToInt32(clamped));
    }
}
