using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
    static abstract TVec Multiply(TVec a, TVec b);
    /// <summary>Math.Clamp lane-wise: a NaN stays NaN.</summary>
    static abstract TVec Clamp(TVec value, TVec min, TVec max);
}

internal readonly struct Float128 : IFloatVector<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Splat(float value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(ref float source, nuint offset) => Vector128.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Clamp(Vector256<float> value, Vector256<float> min, Vector256<float> max)
    {
        value = Vector256.ConditionalSelect(Vector256.LessThan(value, min), min, value);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(value, max), max, value);
    }
}
