using System.Numerics;
using System.Runtime.CompilerServices;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// <see cref="RecurrentMath"/>'s Exp, Tanh and Sigmoid on <see cref="Vector{T}"/> lanes with the same float operations
/// in the same order, so every lane gets the scalar routine's bits. Branches become both sides plus a select; negation
/// is a sign-bit flip as in scalar code; no fused multiply-add (the JIT does not contract a * b + c).
/// </summary>
internal static class RecurrentMathVector
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Negate(Vector<float> x) => Vector.Xor(x, new Vector<float>(-0f));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x)
    {
        var clamped = Vector.ConditionalSelect(Vector.GreaterThan(x, new Vector<float>(88f)), new Vector<float>(88f), x);
        var k = Vector.Floor(clamped * new Vector<float>(1.44269504f) + new Vector<float>(0.5f));
        var r = clamped - k * new Vector<float>(0.693359375f);
        r = r + k * new Vector<float>(2.12194440e-4f);
        var one = Vector<float>.One;
        var p = one + r * (one + r * (new Vector<float>(0.5f) + r * (new Vector<float>(1f / 6f) + r * (new Vector<float>(1f / 24f)
            + r * (new Vector<float>(1f / 120f) + r * (new Vector<float>(1f / 720f) + r * new Vector<float>(1f / 5040f)))))));
        // 2^k from the exponent bits; k is in [-126, 127] on every lane the result keeps, so the platform's own
        // conversion (no saturation fix-ups) gives the scalar (int)k there.
        var scale = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32Native(k) + new Vector<int>(127), 23));
        var result = p * scale;
        result = Vector.ConditionalSelect(Vector.LessThan(x, new Vector<float>(-87f)), Vector<float>.Zero, result);
        return Vector.ConditionalSelect(Vector.Equals(x, x), result, x); // NaN stays NaN
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Tanh(Vector<float> x)
    {
        var a = Vector.Abs(x);
        var x2 = x * x;
        var p = new Vector<float>(-1f / 3f) + x2 * (new Vector<float>(2f / 15f) + x2 * (new Vector<float>(-17f / 315f) + x2 * (new Vector<float>(62f / 2835f)
            + x2 * (new Vector<float>(-1382f / 155925f) + x2 * (new Vector<float>(21844f / 6081075f) + x2 * new Vector<float>(-929569f / 638512875f))))));
        var small = x + x * x2 * p;
        var one = Vector<float>.One;
        var t = one - new Vector<float>(2f) / (Exp(new Vector<float>(2f) * a) + one);
        var large = Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), Negate(t), t);
        var saturated = Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), one, new Vector<float>(-1f));
        large = Vector.ConditionalSelect(Vector.GreaterThan(a, new Vector<float>(9.1f)), saturated, large);
        return Vector.ConditionalSelect(Vector.LessThan(a, new Vector<float>(0.5f)), small, large);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Exp(Negate(x)));
}
