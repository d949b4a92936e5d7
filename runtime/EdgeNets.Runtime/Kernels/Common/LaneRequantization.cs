using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Per-lane requantization for kernels with the output channels along the vector lanes (16 channels per 512-bit
/// vector of sums): each channel's multiplier and shift expanded once into the per-lane constants of
/// <see cref="Requantization.MultiplyByQuantizedMultiplier(Vector256{int}, Vector256{int}, Vector256{int}, Vector256{int}, Vector256{int})"/>,
/// padded with zeros to whole groups of 16. Requires AVX2.
/// </summary>
internal sealed class LaneRequantization
{
    public const int Lanes = 16;
    private readonly int[] _multipliers, _left, _right, _masks;
    private readonly Vector256<int> _zero, _min, _max;

    public LaneRequantization(ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int zeroPoint, int min, int max)
    {
        int lanes = (multipliers.Length + Lanes - 1) / Lanes * Lanes;
        _multipliers = new int[lanes];
        _left = new int[lanes];
        _right = new int[lanes];
        _masks = new int[lanes];
        for (int c = 0; c < multipliers.Length; c++)
        {
            _multipliers[c] = multipliers[c];
            _left[c] = Math.Max(shifts[c], 0);
            _right[c] = Math.Max(-shifts[c], 0);
            _masks[c] = (int)((1L << _right[c]) - 1);
        }
        _zero = Vector256.Create(zeroPoint);
        _min = Vector256.Create(min);
        _max = Vector256.Create(max);
    }

    /// <summary>Sums (bias included) of channels <paramref name="first"/> .. <paramref name="first"/> + 15 as int8 outputs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector512<int> sums, int first)
    {
        var lo = Requantization.MultiplyByQuantizedMultiplier(sums.GetLower(), Vector256.LoadUnsafe(ref _multipliers[first]), Vector256.LoadUnsafe(ref _left[first]),
            Vector256.LoadUnsafe(ref _right[first]), Vector256.LoadUnsafe(ref _masks[first]));
        var hi = Requantization.MultiplyByQuantizedMultiplier(sums.GetUpper(), Vector256.LoadUnsafe(ref _multipliers[first], 8),
            Vector256.LoadUnsafe(ref _left[first], 8), Vector256.LoadUnsafe(ref _right[first], 8), Vector256.LoadUnsafe(ref _masks[first], 8));
        return Requantization.NarrowToInt8(Requantization.ToOutputRange(lo, _zero, _min, _max), Requantization.ToOutputRange(hi, _zero, _min, _max));
    }
}
