using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>Per-output-channel requantization of int32 accumulator vectors and the int8 store of one output row segment.</summary>
internal readonly ref struct Requantizer
{
    private readonly ReadOnlySpan<int> _bias, _multipliers, _shifts;
    private readonly int _zeroPoint, _min, _max, _channel0;

    public Requantizer(ReadOnlySpan<int> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int zeroPoint, int min, int max, int channel0)
    {
        _bias = bias;
        _multipliers = multipliers;
        _shifts = shifts;
        _zeroPoint = zeroPoint;
        _min = min;
        _max = max;
        _channel0 = channel0;
    }

    /// <summary>Rescales 16 accumulators of channel <paramref name="m"/> (local to the group) and stores the first <paramref name="count"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store16(Vector256<int> a0, Vector256<int> a1, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        if (m >= channels) return;
        int c = _channel0 + m;
        var bias = Vector256.Create(_bias[c]);
        int multiplier = _multipliers[c], shift = _shifts[c];
        var zero = Vector256.Create(_zeroPoint);
        var min = Vector256.Create(_min);
        var max = Vector256.Create(_max);
        var r0 = Vector256.Min(Vector256.Max(FixedPointVector.MultiplyByQuantizedMultiplier(a0 + bias, multiplier, shift) + zero, min), max);
        var r1 = Vector256.Min(Vector256.Max(FixedPointVector.MultiplyByQuantizedMultiplier(a1 + bias, multiplier, shift) + zero, min), max);
        // Clamped to int8, so the truncating narrows are exact.
        var s = Vector256.Narrow(r0, r1);
        var bytes = Vector128.Narrow(s.GetLower(), s.GetUpper());
        var row = output.Slice(m * pixels + p0);
        if (count == 16) bytes.StoreUnsafe(ref MemoryMarshal.GetReference(row));
        else
        {
            // A byte loop rather than a copy call: a call here would make the JIT spill the callers' accumulators.
            bytes.StoreUnsafe(ref MemoryMarshal.GetReference(tail));
            for (int i = 0; i < count; i++) row[i] = tail[i];
        }
    }

    /// <summary>Rescales 16 accumulators of channel <paramref name="m"/> with AVX-512 and stores the first <paramref name="count"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store16(Vector512<int> a, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        if (m >= channels) return;
        int c = _channel0 + m;
        var r = FixedPointVector.MultiplyByQuantizedMultiplier(a + Vector512.Create(_bias[c]), _multipliers[c], _shifts[c]);
        r = Vector512.Min(Vector512.Max(r + Vector512.Create(_zeroPoint), Vector512.Create(_min)), Vector512.Create(_max));
        // Clamped to int8, so the saturating narrow is exact.
        var bytes = Avx512F.ConvertToVector128SByteWithSaturation(r);
        var row = output.Slice(m * pixels + p0);
        if (count == 16) bytes.StoreUnsafe(ref MemoryMarshal.GetReference(row));
        else
        {
            // A byte loop rather than a copy call: a call here would make the JIT spill the callers' accumulators.
            bytes.StoreUnsafe(ref MemoryMarshal.GetReference(tail));
            for (int i = 0; i < count; i++) row[i] = tail[i];
        }
    }

    /// <summary>Rescales 32 accumulators of channel <paramref name="m"/> with AVX-512 and stores the first <paramref name="count"/> (more than 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store32(Vector512<int> a0, Vector512<int> a1, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        Store16(a0, m, output, p0, 16, pixels, channels, tail);
        Store16(a1, m, output, p0 + 16, count - 16, pixels, channels, tail);
    }

    /// <summary>
    /// Rescales 16 accumulators of channel <paramref name="m"/> with AdvSimd and stores the first <paramref name="count"/>
    /// (1 to 16): one load of the channel's constants for both halves of a 16-pixel block. Requires AdvSimd.Arm64.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store16(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        if (m >= channels) return;
        int c = _channel0 + m;
        var bias = Vector128.Create(_bias[c]);
        int shift = _shifts[c];
        var m0 = Vector128.Create(_multipliers[c]);
        var shiftVector = Vector128.Create(shift);
        var zero = Vector128.Create(_zeroPoint);
        var r0 = FixedPointVector.Rescale(a0 + bias, m0, shiftVector, shift) + zero;
        var r1 = FixedPointVector.Rescale(a1 + bias, m0, shiftVector, shift) + zero;
        var r2 = FixedPointVector.Rescale(a2 + bias, m0, shiftVector, shift) + zero;
        var r3 = FixedPointVector.Rescale(a3 + bias, m0, shiftVector, shift) + zero;
        var bytes = FixedPointVector.NarrowClamp(r0, r1, r2, r3, Vector128.Create((sbyte)_min), Vector128.Create((sbyte)_max));
        var row = output.Slice(m * pixels + p0);
        if (count == 16) bytes.StoreUnsafe(ref MemoryMarshal.GetReference(row));
        else
        {
            // A byte loop rather than a copy call: a call here would make the JIT spill the callers' accumulators.
            bytes.StoreUnsafe(ref MemoryMarshal.GetReference(tail));
            for (int i = 0; i < count; i++) row[i] = tail[i];
        }
    }

    /// <summary>Rescales 8 accumulators of channel <paramref name="m"/> and stores the first <paramref name="count"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store8(Vector128<int> a0, Vector128<int> a1, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        if (m >= channels) return;
        int c = _channel0 + m;
        var bias = Vector128.Create(_bias[c]);
        int multiplier = _multipliers[c], shift = _shifts[c];
        var zero = Vector128.Create(_zeroPoint);
        Vector128<sbyte> bytes;
        if (AdvSimd.Arm64.IsSupported)
        {
            // SQRDMULH and rounding shifts (FixedPointVector.Rescale), then saturating narrows and an int8 clamp.
            var m0 = Vector128.Create(multiplier);
            var shiftVector = Vector128.Create(shift);
            var r0 = FixedPointVector.Rescale(a0 + bias, m0, shiftVector, shift) + zero;
            var r1 = FixedPointVector.Rescale(a1 + bias, m0, shiftVector, shift) + zero;
            bytes = FixedPointVector.NarrowClamp(r0, r1, Vector64.Create((sbyte)_min), Vector64.Create((sbyte)_max)).ToVector128Unsafe();
        }
        else
        {
            var min = Vector128.Create(_min);
            var max = Vector128.Create(_max);
            var r0 = Vector128.Min(Vector128.Max(FixedPointVector.MultiplyByQuantizedMultiplier(a0 + bias, multiplier, shift) + zero, min), max);
            var r1 = Vector128.Min(Vector128.Max(FixedPointVector.MultiplyByQuantizedMultiplier(a1 + bias, multiplier, shift) + zero, min), max);
            var s = Vector128.Narrow(r0, r1);
            bytes = Vector128.Narrow(s, s);
        }
        var row = output.Slice(m * pixels + p0);
        if (count == 8) Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(row)), bytes.AsInt64().ToScalar());
        else
        {
            // A byte loop rather than a copy call: a call here would make the JIT spill the callers' accumulators.
            bytes.StoreUnsafe(ref MemoryMarshal.GetReference(tail));
            for (int i = 0; i < count; i++) row[i] = tail[i];
        }
    }
}
