using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// <see cref="RecurrentMath"/>'s Tanh and Sigmoid on <see cref="Vector{T}"/> lanes giving the scalar routines' bits on
/// every lane: the exponential's float operations in the same order, branches become both sides plus a select, and
/// where a range check can go without changing any result it goes (each function says why; a test compares them with
/// the scalar routines over a sample of all floats). Negation is a sign-bit flip as in scalar code; no fused
/// multiply-add (the JIT does not contract a * b + c).
/// </summary>
internal static class RecurrentMathVector
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Negate(Vector<float> x) => Vector.Xor(x, new Vector<float>(-0f));

    /// <summary>
    /// e^x for x already limited to [-87, 88] (or NaN, which gives NaN): <see cref="RecurrentMath.Exp"/> without its
    /// range checks. 2^k comes from the exponent bits; k is in [-126, 127] there, so the platform's own conversion (no
    /// saturation fix-ups) gives the scalar (int)k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpInRange(Vector<float> x)
    {
        var k = Vector.Floor(x * new Vector<float>(1.44269504f) + new Vector<float>(0.5f));
        var r = x - k * new Vector<float>(0.693359375f);
        r = r + k * new Vector<float>(2.12194440e-4f);
        var one = Vector<float>.One;
        var p = one + r * (one + r * (new Vector<float>(0.5f) + r * (new Vector<float>(1f / 6f) + r * (new Vector<float>(1f / 24f)
            + r * (new Vector<float>(1f / 120f) + r * (new Vector<float>(1f / 720f) + r * new Vector<float>(1f / 5040f)))))));
        var scale = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32Native(k) + new Vector<int>(127), 23));
        return p * scale;
    }

    /// <summary>
    /// Same bits as <see cref="RecurrentMath.Tanh"/> (checked on every float, NaN for NaN) with fewer operations than
    /// the scalar routine's branches turned into selects:
    /// <list type="bullet">
    /// <item>e^(2|x|) needs only the upper limit of Exp: 2|x| is never negative;</item>
    /// <item>for |x| &gt; 9.1, where the scalar routine returns ±1, 1 - 2/(e^(2|x|) + 1) already rounds to 1 (e^18.2 &gt; 2^26),
    /// so only the sign is left to set;</item>
    /// <item>for |x| ≥ 0.5 that value is positive, so the sign of x is one bit-or;</item>
    /// <item>NaN lanes take the Taylor side (|x| ≥ 0.5 is false for them), which gives NaN.</item>
    /// </list>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Tanh(Vector<float> x)
    {
        var a = Vector.Abs(x);
        var x2 = x * x;
        var p = new Vector<float>(-1f / 3f) + x2 * (new Vector<float>(2f / 15f) + x2 * (new Vector<float>(-17f / 315f) + x2 * (new Vector<float>(62f / 2835f)
            + x2 * (new Vector<float>(-1382f / 155925f) + x2 * (new Vector<float>(21844f / 6081075f) + x2 * new Vector<float>(-929569f / 638512875f))))));
        var small = x + x * x2 * p;
        var twice = new Vector<float>(2f) * a;
        twice = Vector.ConditionalSelect(Vector.GreaterThan(twice, new Vector<float>(88f)), new Vector<float>(88f), twice);
        var t = Vector<float>.One - new Vector<float>(2f) / (ExpInRange(twice) + Vector<float>.One);
        var large = Vector.BitwiseOr(t, Vector.BitwiseAnd(x, new Vector<float>(-0f)));
        return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(a, new Vector<float>(0.5f)), large, small);
    }

    /// <summary>
    /// Same bits as <see cref="RecurrentMath.Sigmoid"/> (compared over all floats): where Exp(-x) is 0 (-x &lt; -87) the
    /// scalar routine gives 1/(1 + 0) = 1; e^-87 ≈ 1.6e-38 gives the same 1, so -x is limited to [-87, 88] up front
    /// instead of selecting 0 afterwards. The selects let NaN through, and NaN gives NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Sigmoid(Vector<float> x)
    {
        var v = Negate(x);
        v = Vector.ConditionalSelect(Vector.GreaterThan(v, new Vector<float>(88f)), new Vector<float>(88f), v);
        v = Vector.ConditionalSelect(Vector.LessThan(v, new Vector<float>(-87f)), new Vector<float>(-87f), v);
        return Vector<float>.One / (Vector<float>.One + ExpInRange(v));
    }

    // The same three functions on Vector512 (the AVX-512 recurrent variants): operation for operation as above, except
    // that the limits are vminps/vmaxps with the limit as the first operand: min(88, v) is 88 < v ? 88 : v and
    // max(-87, v) is -87 > v ? -87 : v, the selects above bit for bit (NaN v included), with a shorter latency.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpInRange(Vector512<float> x)
    {
        var k = Vector512.Floor(x * Vector512.Create(1.44269504f) + Vector512.Create(0.5f));
        var r = x - k * Vector512.Create(0.693359375f);
        r = r + k * Vector512.Create(2.12194440e-4f);
        var one = Vector512<float>.One;
        var p = one + r * (one + r * (Vector512.Create(0.5f) + r * (Vector512.Create(1f / 6f) + r * (Vector512.Create(1f / 24f)
            + r * (Vector512.Create(1f / 120f) + r * (Vector512.Create(1f / 720f) + r * Vector512.Create(1f / 5040f)))))));
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32Native(k) + Vector512.Create(127), 23).AsSingle();
        return p * scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        var a = Vector512.Abs(x);
        var x2 = x * x;
        var p = Vector512.Create(-1f / 3f) + x2 * (Vector512.Create(2f / 15f) + x2 * (Vector512.Create(-17f / 315f) + x2 * (Vector512.Create(62f / 2835f)
            + x2 * (Vector512.Create(-1382f / 155925f) + x2 * (Vector512.Create(21844f / 6081075f) + x2 * Vector512.Create(-929569f / 638512875f))))));
        var small = x + x * x2 * p;
        var twice = Vector512.Create(2f) * a;
        twice = Avx512F.Min(Vector512.Create(88f), twice);
        var t = Vector512<float>.One - Vector512.Create(2f) / (ExpInRange(twice) + Vector512<float>.One);
        var large = t | (x & Vector512.Create(-0f));
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(a, Vector512.Create(0.5f)), large, small);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x)
    {
        var v = x ^ Vector512.Create(-0f);
        v = Avx512F.Min(Vector512.Create(88f), v);
        v = Avx512F.Max(Vector512.Create(-87f), v);
        return Vector512<float>.One / (Vector512<float>.One + ExpInRange(v));
    }
}
