using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Float vector operations of one width, for kernels written once over the vector type and instantiated per width (as
/// TensorPrimitives drives one operator over several widths). A value-type generic argument makes the JIT and AOT
/// compilers specialize the kernel, so each call below inlines to that width's instructions.
/// </summary>
internal interface IFloatVector<TVec> where TVec : struct
{
    static abstract int Count { get; }
    static abstract TVec Splat(float value);
    static abstract TVec Load(ref float source, nuint offset);
    static abstract void Store(TVec value, ref float destination, nuint offset);
    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);
    static abstract TVec Multiply(TVec a, TVec b);
    static abstract TVec Divide(TVec a, TVec b);
    /// <summary>Math.Clamp lane-wise: a NaN stays NaN.</summary>
    static abstract TVec Clamp(TVec value, TVec min, TVec max);
    /// <summary>
    /// Each lane as the scalar <c>(sbyte)Math.Clamp(MathF.Round(t, AwayFromZero) + zeroPoint, -128f, 127f)</c> (a NaN lane
    /// gives 0), stored as <see cref="Count"/> bytes at <paramref name="destination"/> + <paramref name="offset"/>.
    /// </summary>
    static abstract void StoreRoundedInt8(TVec t, TVec zeroPoint, ref sbyte destination, nuint offset);
}

internal readonly struct Float128 : IFloatVector<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Splat(float value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(ref float source, nuint offset) => Vector128.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRoundedInt8(Vector128<float> t, Vector128<float> zeroPoint, ref sbyte destination, nuint offset)
    {
        Vector128<int> ints;
        if (AdvSimd.Arm64.IsSupported)
        {
            // frinta rounds half away from zero; fmax/fmin keep a NaN, which fcvtzs turns into 0.
            var value = AdvSimd.Min(AdvSimd.Max(AdvSimd.RoundAwayFromZero(t) + zeroPoint, Vector128.Create(-128f)), Vector128.Create(127f));
            ints = AdvSimd.ConvertToInt32RoundToZero(value);
        }
        else ints = QuantizeVector.RoundToInt8(t, zeroPoint, Vector128<int>.Zero);
        var shorts = Vector128.Narrow(ints, ints);
        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref destination, offset)), Vector128.Narrow(shorts, shorts).AsInt32().ToScalar());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Clamp(Vector128<float> value, Vector128<float> min, Vector128<float> max)
    {
        value = Vector128.ConditionalSelect(Vector128.LessThan(value, min), min, value);
        return Vector128.ConditionalSelect(Vector128.GreaterThan(value, max), max, value);
    }
}

internal readonly struct Float256 : IFloatVector<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(ref float source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRoundedInt8(Vector256<float> t, Vector256<float> zeroPoint, ref sbyte destination, nuint offset)
    {
        var ints = QuantizeVector.RoundToInt8(t, zeroPoint, Vector256<int>.Zero);
        var shorts = Vector128.Narrow(ints.GetLower(), ints.GetUpper());
        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref destination, offset)), Vector128.Narrow(shorts, shorts).AsInt64().ToScalar());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Clamp(Vector256<float> value, Vector256<float> min, Vector256<float> max)
    {
        value = Vector256.ConditionalSelect(Vector256.LessThan(value, min), min, value);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(value, max), max, value);
    }
}

/// <summary>Requires AVX-512F.</summary>
internal readonly struct Float512 : IFloatVector<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref float source, nuint offset) => Vector512.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Clamp(Vector512<float> value, Vector512<float> min, Vector512<float> max)
    {
        value = Vector512.ConditionalSelect(Vector512.LessThan(value, min), min, value);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(value, max), max, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRoundedInt8(Vector512<float> t, Vector512<float> zeroPoint, ref sbyte destination, nuint offset) =>
        Avx512F.ConvertToVector128SByte(QuantizeVector.RoundToInt8(t, zeroPoint, Vector512<int>.Zero)).StoreUnsafe(ref Unsafe.Add(ref destination, offset));
}
