// The plain int8 store, as the kernels without a fused operator name it.
global using Requantizer = EdgeNets.Runtime.Kernels.Optimized.Requantizer<EdgeNets.Runtime.Kernels.Optimized.Int8Store>;

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// The int8 store of the Conv and depthwise tiles: per-output-channel <see cref="Requantization"/> of int32
/// accumulator vectors (bias, multiplier and shift of the channel, output zero point, clamp), the
/// <typeparamref name="TEpilogue"/> (a fused elementwise operator, or none) and the store of one output row segment.
/// </summary>
internal readonly ref struct Requantizer<TEpilogue> where TEpilogue : struct, IInt8Epilogue
{
    private readonly TEpilogue _epilogue;
    private readonly ReadOnlySpan<int> _bias, _multipliers, _shifts;
    private readonly int _zeroPoint, _min, _max, _channel0;
    /// <summary>_min and _max as int8 (both lie in [-128, 127]): the AdvSimd clamp's operands without a sign extension per use.</summary>
    private readonly sbyte _min8, _max8;

    public Requantizer(ReadOnlySpan<int> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int zeroPoint, int min, int max, int channel0,
        TEpilogue epilogue = default)
    {
        _epilogue = epilogue;
        _bias = bias;
        _multipliers = multipliers;
        _shifts = shifts;
        _zeroPoint = zeroPoint;
        _min = min;
        _max = max;
        _channel0 = channel0;
        _min8 = (sbyte)min;
        _max8 = (sbyte)max;
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
        var bytes = Requantization.NarrowToInt8(
            Requantization.Requantize(a0 + bias, multiplier, shift, zero, min, max), Requantization.Requantize(a1 + bias, multiplier, shift, zero, min, max));
        var row = output.Slice(m * pixels + p0);
        bytes = _epilogue.Apply(bytes, ref MemoryMarshal.GetReference(row), count);
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
        var bytes = Requantization.NarrowToInt8(Requantization.Requantize(a + Vector512.Create(_bias[c]), _multipliers[c], _shifts[c],
            Vector512.Create(_zeroPoint), Vector512.Create(_min), Vector512.Create(_max)));
        var row = output.Slice(m * pixels + p0);
        bytes = _epilogue.Apply(bytes, ref MemoryMarshal.GetReference(row), count);
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
    /// The callers' tiles keep c inside the channel arrays and the row inside <paramref name="output"/>, so the reads
    /// and the store go through references: per channel no bounds checks between the accumulators and the store.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store16(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        if (m >= channels) return;
        nuint c = (nuint)(uint)(_channel0 + m);
        Debug.Assert((int)c < _bias.Length && (int)c < _multipliers.Length && (int)c < _shifts.Length);
        Debug.Assert(m * pixels + p0 + count <= output.Length);
        var bias = Vector128.Create(Unsafe.Add(ref MemoryMarshal.GetReference(_bias), c));
        int shift = Unsafe.Add(ref MemoryMarshal.GetReference(_shifts), c);
        var bytes = Requantization.RequantizeToInt8(a0 + bias, a1 + bias, a2 + bias, a3 + bias, Vector128.Create(Unsafe.Add(ref MemoryMarshal.GetReference(_multipliers), c)),
            Vector128.Create(shift), shift, Vector128.Create(_zeroPoint), Vector128.Create(_min8), Vector128.Create(_max8));
        ref sbyte row = ref Unsafe.Add(ref MemoryMarshal.GetReference(output), (nuint)(uint)(m * pixels + p0));
        bytes = _epilogue.Apply(bytes, ref row, count);
        if (count == 16) bytes.StoreUnsafe(ref row);
        else
        {
            // A byte loop rather than a copy call: a call here would make the JIT spill the callers' accumulators.
            bytes.StoreUnsafe(ref MemoryMarshal.GetReference(tail));
            for (int i = 0; i < count; i++) Unsafe.Add(ref row, i) = tail[i];
        }
    }

    /// <summary>
    /// Rescales 8 accumulators of channel <paramref name="m"/> and stores the first <paramref name="count"/>; reads and
    /// store through references as in the AdvSimd <see cref="Store16(Vector128{int}, Vector128{int}, Vector128{int}, Vector128{int}, int, Span{sbyte}, int, int, int, int, Span{sbyte})"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store8(Vector128<int> a0, Vector128<int> a1, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        if (m >= channels) return;
        nuint c = (nuint)(uint)(_channel0 + m);
        Debug.Assert((int)c < _bias.Length && (int)c < _multipliers.Length && (int)c < _shifts.Length);
        Debug.Assert(m * pixels + p0 + count <= output.Length);
        var bias = Vector128.Create(Unsafe.Add(ref MemoryMarshal.GetReference(_bias), c));
        int multiplier = Unsafe.Add(ref MemoryMarshal.GetReference(_multipliers), c), shift = Unsafe.Add(ref MemoryMarshal.GetReference(_shifts), c);
        var zero = Vector128.Create(_zeroPoint);
        Vector128<sbyte> bytes;
        if (AdvSimd.Arm64.IsSupported)
        {
            // SQRDMULH and rounding shifts (Requantization.Rescale), then saturating narrows and an int8 clamp.
            var m0 = Vector128.Create(multiplier);
            var shiftVector = Vector128.Create(shift);
            var r0 = Requantization.Rescale(a0 + bias, m0, shiftVector, shift) + zero;
            var r1 = Requantization.Rescale(a1 + bias, m0, shiftVector, shift) + zero;
            bytes = Requantization.NarrowClamp(r0, r1, Vector64.Create(_min8), Vector64.Create(_max8)).ToVector128Unsafe();
        }
        else
        {
            var min = Vector128.Create(_min);
            var max = Vector128.Create(_max);
            var s = Vector128.Narrow(Requantization.Requantize(a0 + bias, multiplier, shift, zero, min, max), Requantization.Requantize(a1 + bias, multiplier, shift, zero, min, max));
            bytes = Vector128.Narrow(s, s);
        }
        ref sbyte row = ref Unsafe.Add(ref MemoryMarshal.GetReference(output), (nuint)(uint)(m * pixels + p0));
        bytes = _epilogue.Apply(bytes, ref row, count);
        if (count == 8) Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref row), bytes.AsInt64().ToScalar());
        else
        {
            // A byte loop rather than a copy call: a call here would make the JIT spill the callers' accumulators.
            bytes.StoreUnsafe(ref MemoryMarshal.GetReference(tail));
            for (int i = 0; i < count; i++) Unsafe.Add(ref row, i) = tail[i];
        }
    }
}
