using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels.Int16;

/// <summary>
/// Exact sums of int16 activations times int8 weights (widened to int16) on vectors: int32 lanes over blocks short
/// enough never to overflow, each block then widened into int64. A product is at most 2^15·2^7 = 2^22 in magnitude, so
/// a lane holds 511 of them (AdvSimd SMLAL: one product per lane per step) or 255 pairs (AVX2 vpmaddwd: two per step).
/// Integer sums are exact in any order, so these equal the reference's int64 sums bit for bit.
/// </summary>
internal static class Int16Dot
{
    /// <summary>Steps of one product per int32 lane before the lane must be widened: 511·2^22 &lt; 2^31.</summary>
    public const int SingleBlock = 511;
    /// <summary>Steps of two products per int32 lane (vpmaddwd) before the lane must be widened: 255·2^23 &lt; 2^31.</summary>
    public const int PairBlock = 255;

    /// <summary>Σ a[i]·b[i] over <paramref name="length"/> int16 values (b holds weights in [-128, 127]).</summary>
    public static long Dot(ref short a, ref short b, int length, Isa isa)
    {
        long sum = 0;
        int i = 0;
        if (isa == Isa.Avx2 && Avx2.IsSupported)
        {
            while (i + 16 <= length)
            {
                int end = Math.Min(length - 15, i + 16 * PairBlock);
                var acc = Vector256<int>.Zero;
                for (; i < end; i += 16)
                    acc = Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref a, (nuint)i), Vector256.LoadUnsafe(ref b, (nuint)i)));
                sum += Vector256.Sum(Vector256.WidenLower(acc) + Vector256.WidenUpper(acc));
            }
        }
        else if (isa == Isa.AdvSimd && AdvSimd.IsSupported)
        {
            while (i + 8 <= length)
            {
                int end = Math.Min(length - 7, i + 8 * SingleBlock);
                Vector128<int> lo = Vector128<int>.Zero, hi = Vector128<int>.Zero;
                for (; i < end; i += 8)
                {
                    var x = Vector128.LoadUnsafe(ref a, (nuint)i);
                    var w = Vector128.LoadUnsafe(ref b, (nuint)i);
                    lo = AdvSimd.MultiplyWideningLowerAndAdd(lo, x.GetLower(), w.GetLower());
                    hi = AdvSimd.MultiplyWideningUpperAndAdd(hi, x, w);
                }
                sum += Vector128.Sum(Vector128.WidenLower(lo) + Vector128.WidenUpper(lo) + Vector128.WidenLower(hi) + Vector128.WidenUpper(hi));
            }
        }
        for (; i < length; i++) sum += Unsafe.Add(ref a, i) * Unsafe.Add(ref b, i);
        return sum;
    }

    /// <summary>
    /// <see cref="Quantization.FixedPoint.RequantizeInt16"/> of 16 int64 sums plus a bias on AVX2, exactly: the 64-bit
    /// product by the 16-bit multiplier from two 32-bit multiplies (signed high half, unsigned low half), the rounding
    /// shift done logically on the value moved up by 2^62 (|sum·m16 + round| &lt; 2^62 under the kernels' bounds), then
    /// the clamp and the narrowing to int16.
    /// </summary>
    public static Vector256<short> RequantizeAvx2(ref long sums, long bias, int multiplier, int shift, int min, int max)
    {
        long reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
        int totalShift = 15 - shift;
        var m16 = Vector256.Create(reduced);
        var offset = Vector256.Create((1L << 62) + (1L << (totalShift - 1)));
        var unbias = Vector256.Create((1L << 62) >> totalShift);
        var b = Vector256.Create(bias);
        var lo = Vector256.Create((long)min);
        var hi = Vector256.Create((long)max);
        Vector256<long> Rescale(Vector256<long> acc)
        {
            acc += b;
            var low = Avx2.Multiply(acc.AsUInt32(), m16.AsUInt32()).AsInt64();
            var high = Avx2.Multiply(Avx2.Shuffle(acc.AsInt32(), 0b11_11_01_01), m16.AsInt32());
            var product = Vector256.ShiftLeft(high, 32) + low + offset;
            var y = Vector256.ShiftRightLogical(product, totalShift) - unbias;
            return Vector256.Min(Vector256.Max(y, lo), hi);
        }
        var a0 = Rescale(Vector256.LoadUnsafe(ref sums, 0));
        var a1 = Rescale(Vector256.LoadUnsafe(ref sums, 4));
        var a2 = Rescale(Vector256.LoadUnsafe(ref sums, 8));
        var a3 = Rescale(Vector256.LoadUnsafe(ref sums, 12));
        return Vector256.Narrow(Vector256.Narrow(a0, a1), Vector256.Narrow(a2, a3));
    }
}
