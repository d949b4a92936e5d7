using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Double vector operations of one width, for int8 kernels that keep a reference's double arithmetic lane by lane and are
/// written once over the vector type (as <see cref="IFloatVector{TVec}"/> for floats): a value-type generic argument makes
/// the JIT and AOT compilers specialize the kernel, so each call inlines to that width's instructions.
/// </summary>
internal interface IDoubleVector<TVec> where TVec : struct
{
    static abstract int Count { get; }
    static abstract TVec Splat(double value);
    static abstract TVec Load(ref double source, nuint offset);
    /// <summary><see cref="Count"/> int8 values from <paramref name="source"/> + <paramref name="offset"/>, as doubles.</summary>
    static abstract TVec LoadInt8(ref sbyte source, nuint offset);
    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);
    static abstract TVec Multiply(TVec a, TVec b);
    static abstract TVec Divide(TVec a, TVec b);
    /// <summary>
    /// Each lane as the scalar <c>Math.Round(t, AwayFromZero) + zeroPoint</c> clamped to [-128, 127], a NaN lane giving the
    /// zero point, stored as <see cref="Count"/> bytes at <paramref name="destination"/> + <paramref name="offset"/>.
    /// </summary>
    static abstract void StoreRoundedInt8(TVec t, TVec zeroPoint, ref sbyte destination, nuint offset);
}

/// <summary>Rounding half away from zero on vectors without such an instruction: truncate, then one away when the fraction is at least a half.</summary>
internal static class DoubleRounding
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> HalfAway(Vector128<double> t)
    {
        if (AdvSimd.Arm64.IsSupported) return AdvSimd.Arm64.RoundAwayFromZero(t);
        var whole = Vector128.Truncate(t);
        var away = Vector128.GreaterThanOrEqual(Vector128.Abs(t - whole), Vector128.Create(0.5));
        return Vector128.ConditionalSelect(away, whole + Vector128.CopySign(Vector128.Create(1.0), t), whole);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> HalfAway(Vector256<double> t)
    {
        var whole = Vector256.Truncate(t);
        var away = Vector256.GreaterThanOrEqual(Vector256.Abs(t - whole), Vector256.Create(0.5));
        return Vector256.ConditionalSelect(away, whole + Vector256.CopySign(Vector256.Create(1.0), t), whole);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> HalfAway(Vector512<double> t)
    {
        var whole = Vector512.Truncate(t);
        var away = Vector512.GreaterThanOrEqual(Vector512.Abs(t - whole), Vector512.Create(0.5));
        return Vector512.ConditionalSelect(away, whole + Vector512.CopySign(Vector512.Create(1.0), t), whole);
    }
}

internal readonly struct Double128 : IDoubleVector<Vector128<double>>
{
    public static int Count => 2;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Splat(double value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Load(ref double source, nuint offset) => Vector128.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Add(Vector128<double> a, Vector128<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Subtract(Vector128<double> a, Vector128<double> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Multiply(Vector128<double> a, Vector128<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Divide(Vector128<double> a, Vector128<double> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> LoadInt8(ref sbyte source, nuint offset) =>
        Vector128.Create((double)Unsafe.Add(ref source, offset), Unsafe.Add(ref source, offset + 1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRoundedInt8(Vector128<double> t, Vector128<double> zeroPoint, ref sbyte destination, nuint offset)
    {
        // A NaN lane becomes 0 first, so it rounds to the zero point; the clamp then sees numbers only.
        t &= Vector128.Equals(t, t);
        var value = Vector128.Min(Vector128.Max(DoubleRounding.HalfAway(t) + zeroPoint, Vector128.Create(-128.0)), Vector128.Create(127.0));
        var ints = Vector128.ConvertToInt64(value).AsInt32();
        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref destination, offset)), (ushort)((byte)ints.GetElement(0) | (byte)ints.GetElement(2) << 8));
    }
}

/// <summary>Requires AVX2.</summary>
internal readonly struct Double256 : IDoubleVector<Vector256<double>>
{
    public static int Count => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Splat(double value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Load(ref double source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Add(Vector256<double> a, Vector256<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Subtract(Vector256<double> a, Vector256<double> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Multiply(Vector256<double> a, Vector256<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Divide(Vector256<double> a, Vector256<double> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> LoadInt8(ref sbyte source, nuint offset) =>
        Avx.ConvertToVector256Double(Sse41.ConvertToVector128Int32(Vector128.CreateScalar(Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref source, offset)))).AsSByte()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRoundedInt8(Vector256<double> t, Vector256<double> zeroPoint, ref sbyte destination, nuint offset)
    {
        t &= Vector256.Equals(t, t);
        var value = Vector256.Min(Vector256.Max(DoubleRounding.HalfAway(t) + zeroPoint, Vector256.Create(-128.0)), Vector256.Create(127.0));
        var ints = Avx.ConvertToVector128Int32WithTruncation(value);
        var shorts = Vector128.Narrow(ints, ints);
        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref destination, offset)), Vector128.Narrow(shorts, shorts).AsInt32().ToScalar());
    }
}

/// <summary>Requires AVX-512F (and AVX2).</summary>
internal readonly struct Double512 : IDoubleVector<Vector512<double>>
{
    public static int Count => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Splat(double value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Load(ref double source, nuint offset) => Vector512.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Add(Vector512<double> a, Vector512<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Subtract(Vector512<double> a, Vector512<double> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Multiply(Vector512<double> a, Vector512<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Divide(Vector512<double> a, Vector512<double> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> LoadInt8(ref sbyte source, nuint offset) =>
        Avx512F.ConvertToVector512Double(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref source, offset)))).AsSByte()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRoundedInt8(Vector512<double> t, Vector512<double> zeroPoint, ref sbyte destination, nuint offset)
    {
        t &= Vector512.Equals(t, t);
        var value = Vector512.Min(Vector512.Max(DoubleRounding.HalfAway(t) + zeroPoint, Vector512.Create(-128.0)), Vector512.Create(127.0));
        var ints = Avx512F.ConvertToVector256Int32WithTruncation(value);
        var shorts = Vector128.Narrow(ints.GetLower(), ints.GetUpper());
        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref destination, offset)), Vector128.Narrow(shorts, shorts).AsInt64().ToScalar());
    }
}
