using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
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
    /// range checks. 2^k comes from the exponent bits (<see cref="ScaleOf"/>); k is in [-126, 127] there.
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
        return p * ScaleOf(k);
    }

    /// <summary>
    /// 2^k for whole k in [-126, 127]: k + 1.5·2^23 + 127 is exact and holds k + 127 in its low mantissa bits (bit 22
    /// stays set, no carry into it), so shifting its bits left by 23 leaves exactly the exponent field k + 127; one
    /// add instead of a conversion and an add. NaN k gives some value, multiplied with a NaN p.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ScaleOf(Vector<float> k) =>
        Vector.AsVectorSingle(Vector.ShiftLeft(Vector.AsVectorInt32(k + new Vector<float>(12582912f + 127f)), 23));

    /// <summary>
    /// limit &lt; v ? limit : v, NaN v included: vminps with the limit first where there is one (one instruction
    /// instead of a compare and a blend); on arm64 fmin, which gives the same for every number and NaN for NaN v (the
    /// NaN itself, quieted: NaN payloads are not part of the bit-exactness contract, NaN quantizes to the zero point);
    /// else the select.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> AtMost(float limit, Vector<float> v)
    {
        var l = new Vector<float>(limit);
        if (Vector<float>.Count == Vector256<float>.Count && Avx.IsSupported) return Avx.Min(l.AsVector256(), v.AsVector256()).AsVector();
        if (Vector<float>.Count == Vector128<float>.Count && Sse.IsSupported) return Sse.Min(l.AsVector128(), v.AsVector128()).AsVector();
        if (Vector<float>.Count == Vector128<float>.Count && AdvSimd.IsSupported) return AdvSimd.Min(l.AsVector128(), v.AsVector128()).AsVector();
        return Vector.ConditionalSelect(Vector.GreaterThan(v, l), l, v);
    }

    /// <summary>limit &gt; v ? limit : v, NaN v included (vmaxps with the limit first, fmax; see <see cref="AtMost"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> AtLeast(float limit, Vector<float> v)
    {
        var l = new Vector<float>(limit);
        if (Vector<float>.Count == Vector256<float>.Count && Avx.IsSupported) return Avx.Max(l.AsVector256(), v.AsVector256()).AsVector();
        if (Vector<float>.Count == Vector128<float>.Count && Sse.IsSupported) return Sse.Max(l.AsVector128(), v.AsVector128()).AsVector();
        if (Vector<float>.Count == Vector128<float>.Count && AdvSimd.IsSupported) return AdvSimd.Max(l.AsVector128(), v.AsVector128()).AsVector();
        return Vector.ConditionalSelect(Vector.LessThan(v, l), l, v);
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
        twice = AtMost(88f, twice);
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
        v = AtMost(88f, v);
        v = AtLeast(-87f, v);
        return Vector<float>.One / (Vector<float>.One + ExpInRange(v));
    }

    // Two (four) vectors at a time, statement by statement: each function is one long chain of dependent operations, and the
    // out-of-order core only overlaps what is close together in the instruction stream. Per lane exactly the
    // operations of the one-vector functions above (a + b as b + a where the source reads so: the same bits).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpInRange(Vector<float> x0, Vector<float> x1, out Vector<float> e0, out Vector<float> e1)
    {
        var log2e = new Vector<float>(1.44269504f);
        var half = new Vector<float>(0.5f);
        var k0 = Vector.Floor(x0 * log2e + half);
        var k1 = Vector.Floor(x1 * log2e + half);
        var c1 = new Vector<float>(0.693359375f);
        var r0 = x0 - k0 * c1;
        var r1 = x1 - k1 * c1;
        var c2 = new Vector<float>(2.12194440e-4f);
        r0 = r0 + k0 * c2;
        r1 = r1 + k1 * c2;
        var p0 = new Vector<float>(1f / 720f) + r0 * new Vector<float>(1f / 5040f);
        var p1 = new Vector<float>(1f / 720f) + r1 * new Vector<float>(1f / 5040f);
        p0 = new Vector<float>(1f / 120f) + r0 * p0;
        p1 = new Vector<float>(1f / 120f) + r1 * p1;
        p0 = new Vector<float>(1f / 24f) + r0 * p0;
        p1 = new Vector<float>(1f / 24f) + r1 * p1;
        p0 = new Vector<float>(1f / 6f) + r0 * p0;
        p1 = new Vector<float>(1f / 6f) + r1 * p1;
        p0 = half + r0 * p0;
        p1 = half + r1 * p1;
        var one = Vector<float>.One;
        p0 = one + r0 * p0;
        p1 = one + r1 * p1;
        p0 = one + r0 * p0;
        p1 = one + r1 * p1;
        e0 = p0 * ScaleOf(k0);
        e1 = p1 * ScaleOf(k1);
    }

    /// <summary><see cref="Sigmoid(Vector{float})"/> of two vectors, interleaved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Sigmoid(Vector<float> x0, Vector<float> x1, out Vector<float> s0, out Vector<float> s1)
    {
        var v0 = AtLeast(-87f, AtMost(88f, Negate(x0)));
        var v1 = AtLeast(-87f, AtMost(88f, Negate(x1)));
        ExpInRange(v0, v1, out var e0, out var e1);
        s0 = Vector<float>.One / (Vector<float>.One + e0);
        s1 = Vector<float>.One / (Vector<float>.One + e1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpInRange(Vector<float> x0, Vector<float> x1, Vector<float> x2, Vector<float> x3,
        out Vector<float> e0, out Vector<float> e1, out Vector<float> e2, out Vector<float> e3)
    {
        var log2e = new Vector<float>(1.44269504f);
        var half = new Vector<float>(0.5f);
        var k0 = Vector.Floor(x0 * log2e + half);
        var k1 = Vector.Floor(x1 * log2e + half);
        var k2 = Vector.Floor(x2 * log2e + half);
        var k3 = Vector.Floor(x3 * log2e + half);
        var c1 = new Vector<float>(0.693359375f);
        var r0 = x0 - k0 * c1;
        var r1 = x1 - k1 * c1;
        var r2 = x2 - k2 * c1;
        var r3 = x3 - k3 * c1;
        var c2 = new Vector<float>(2.12194440e-4f);
        r0 = r0 + k0 * c2;
        r1 = r1 + k1 * c2;
        r2 = r2 + k2 * c2;
        r3 = r3 + k3 * c2;
        var p0 = new Vector<float>(1f / 720f) + r0 * new Vector<float>(1f / 5040f);
        var p1 = new Vector<float>(1f / 720f) + r1 * new Vector<float>(1f / 5040f);
        var p2 = new Vector<float>(1f / 720f) + r2 * new Vector<float>(1f / 5040f);
        var p3 = new Vector<float>(1f / 720f) + r3 * new Vector<float>(1f / 5040f);
        p0 = new Vector<float>(1f / 120f) + r0 * p0;
        p1 = new Vector<float>(1f / 120f) + r1 * p1;
        p2 = new Vector<float>(1f / 120f) + r2 * p2;
        p3 = new Vector<float>(1f / 120f) + r3 * p3;
        p0 = new Vector<float>(1f / 24f) + r0 * p0;
        p1 = new Vector<float>(1f / 24f) + r1 * p1;
        p2 = new Vector<float>(1f / 24f) + r2 * p2;
        p3 = new Vector<float>(1f / 24f) + r3 * p3;
        p0 = new Vector<float>(1f / 6f) + r0 * p0;
        p1 = new Vector<float>(1f / 6f) + r1 * p1;
        p2 = new Vector<float>(1f / 6f) + r2 * p2;
        p3 = new Vector<float>(1f / 6f) + r3 * p3;
        p0 = half + r0 * p0;
        p1 = half + r1 * p1;
        p2 = half + r2 * p2;
        p3 = half + r3 * p3;
        var one = Vector<float>.One;
        p0 = one + r0 * p0;
        p1 = one + r1 * p1;
        p2 = one + r2 * p2;
        p3 = one + r3 * p3;
        p0 = one + r0 * p0;
        p1 = one + r1 * p1;
        p2 = one + r2 * p2;
        p3 = one + r3 * p3;
        e0 = p0 * ScaleOf(k0);
        e1 = p1 * ScaleOf(k1);
        e2 = p2 * ScaleOf(k2);
        e3 = p3 * ScaleOf(k3);
    }

    /// <summary><see cref="Sigmoid(Vector{float})"/> of four vectors, interleaved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Sigmoid(Vector<float> x0, Vector<float> x1, Vector<float> x2, Vector<float> x3,
        out Vector<float> s0, out Vector<float> s1, out Vector<float> s2, out Vector<float> s3)
    {
        ExpInRange(AtLeast(-87f, AtMost(88f, Negate(x0))), AtLeast(-87f, AtMost(88f, Negate(x1))),
            AtLeast(-87f, AtMost(88f, Negate(x2))), AtLeast(-87f, AtMost(88f, Negate(x3))), out var e0, out var e1, out var e2, out var e3);
        s0 = Vector<float>.One / (Vector<float>.One + e0);
        s1 = Vector<float>.One / (Vector<float>.One + e1);
        s2 = Vector<float>.One / (Vector<float>.One + e2);
        s3 = Vector<float>.One / (Vector<float>.One + e3);
    }

    /// <summary><see cref="Tanh(Vector{float})"/> of two vectors, interleaved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tanh(Vector<float> x0, Vector<float> x1, out Vector<float> t0, out Vector<float> t1)
    {
        var two = new Vector<float>(2f);
        var a0 = Vector.Abs(x0);
        var a1 = Vector.Abs(x1);
        ExpInRange(AtMost(88f, two * a0), AtMost(88f, two * a1), out var e0, out var e1);
        var large0 = Vector.BitwiseOr(Vector<float>.One - two / (e0 + Vector<float>.One), Vector.BitwiseAnd(x0, new Vector<float>(-0f)));
        var large1 = Vector.BitwiseOr(Vector<float>.One - two / (e1 + Vector<float>.One), Vector.BitwiseAnd(x1, new Vector<float>(-0f)));
        var small0 = TanhTaylor(x0);
        var small1 = TanhTaylor(x1);
        t0 = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(a0, new Vector<float>(0.5f)), large0, small0);
        t1 = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(a1, new Vector<float>(0.5f)), large1, small1);
    }

    /// <summary>The scalar Tanh's series for |x| &lt; 0.5 (independent of the exponential: it fills its gaps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> TanhTaylor(Vector<float> x)
    {
        var x2 = x * x;
        var p = new Vector<float>(-1f / 3f) + x2 * (new Vector<float>(2f / 15f) + x2 * (new Vector<float>(-17f / 315f) + x2 * (new Vector<float>(62f / 2835f)
            + x2 * (new Vector<float>(-1382f / 155925f) + x2 * (new Vector<float>(21844f / 6081075f) + x2 * new Vector<float>(-929569f / 638512875f))))));
        return x + x * x2 * p;
    }

    // The same three functions on Vector512 (the AVX-512 recurrent variants): operation for operation as above; the
    // limits are vminps/vmaxps with the limit as the first operand: min(88, v) is 88 < v ? 88 : v and max(-87, v) is
    // -87 > v ? -87 : v, a select bit for bit (NaN v included), with a shorter latency.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpInRange(Vector512<float> x)
    {
        var k = Vector512.Floor(x * Vector512.Create(1.44269504f) + Vector512.Create(0.5f));
        var r = x - k * Vector512.Create(0.693359375f);
        r = r + k * Vector512.Create(2.12194440e-4f);
        var one = Vector512<float>.One;
        var p = one + r * (one + r * (Vector512.Create(0.5f) + r * (Vector512.Create(1f / 6f) + r * (Vector512.Create(1f / 24f)
            + r * (Vector512.Create(1f / 120f) + r * (Vector512.Create(1f / 720f) + r * Vector512.Create(1f / 5040f)))))));
        var scale = Vector512.ShiftLeft((k + Vector512.Create(12582912f + 127f)).AsInt32(), 23).AsSingle();
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
