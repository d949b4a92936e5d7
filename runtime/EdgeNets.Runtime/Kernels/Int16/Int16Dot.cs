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
}
