using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 Concat. An input whose rescaling to the output maps every int8 value to itself (the same scale and zero point,
/// as the quantizer arranges where it can) is copied block by block; any other input is requantized 16 values at a time
/// with <see cref="Requantization"/> in this variant's vector width, its tail by the scalar routine.
/// </summary>
internal sealed class ConcatInt8 : OpKernel
{
    private readonly string _name;
    private readonly Isa _isa;
    private readonly ShapeKernels.ConcatLayout _l;
    /// <summary>Per input: whether its rescaling is the identity on all 256 values.</summary>
    private readonly bool[] _copies;

    public ConcatInt8(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _isa = isa;
        _l = ShapeKernels.PrepareConcat(s, DataType.Int8);
        _copies = new bool[_l.Inputs.Length];
        for (int i = 0; i < _copies.Length; i++) _copies[i] = IsIdentity(_l.ZeroPoints[i], _l.Multipliers[i], _l.Shifts[i], _l.OutputZeroPoint);
    }

    public override string Name => _name;

    /// <summary>Whether the reference's requantization of an input returns every int8 value unchanged.</summary>
    internal static bool IsIdentity(int zeroPoint, int multiplier, int shift, int outputZeroPoint)
    {
        for (int v = sbyte.MinValue; v <= sbyte.MaxValue; v++)
            if (FixedPoint.Requantize(v - zeroPoint, multiplier, shift, outputZeroPoint, sbyte.MinValue, sbyte.MaxValue) != v) return false;
        return true;
    }

    public override void Run(TensorMemory memory)
    {
        var l = _l;
        var y = memory.Write<sbyte>(l.Output);
        int start = 0;
        for (int i = 0; i < l.Inputs.Length; i++)
        {
            var x = memory.Read<sbyte>(l.Inputs[i]);
            int block = l.BlockLength[i];
            for (int o = 0; o < l.OuterCount; o++)
            {
                var src = x.Slice(o * block, block);
                var dst = y.Slice(o * l.OutputBlockLength + start, block);
                if (_copies[i]) src.CopyTo(dst);
                else Requantize(src, dst, l.ZeroPoints[i], l.Multipliers[i], l.Shifts[i]);
            }
            start += block;
        }
    }

    private void Requantize(ReadOnlySpan<sbyte> x, Span<sbyte> y, int zx, int multiplier, int shift)
    {
        int zy = _l.OutputZeroPoint, i = _isa switch
        {
            Isa.Avx2 => RequantizeAvx2(x, y, zx, multiplier, shift, zy),
            Isa.AdvSimd => RequantizeAdvSimd(x, y, zx, multiplier, shift, zy),
            _ => RequantizeVector128(x, y, zx, multiplier, shift, zy),
        };
        for (; i < x.Length; i++) y[i] = FixedPoint.Requantize(x[i] - zx, multiplier, shift, zy, sbyte.MinValue, sbyte.MaxValue);
    }

    /// <summary>Whole runs of 16 values; returns how many were done.</summary>
    private static int RequantizeAvx2(ReadOnlySpan<sbyte> x, Span<sbyte> y, int zx, int multiplier, int shift, int zy)
    {
        ref sbyte rx = ref MemoryMarshal.GetReference(x);
        ref sbyte ry = ref MemoryMarshal.GetReference(y);
        Vector256<int> z = Vector256.Create(zx), zero = Vector256.Create(zy), min = Vector256.Create((int)sbyte.MinValue), max = Vector256.Create((int)sbyte.MaxValue);
        int i = 0;
        for (; i + 16 <= x.Length; i += 16)
        {
            var v = Vector128.LoadUnsafe(ref rx, (nuint)i);
            var low = Avx2.ConvertToVector256Int32(v) - z;
            var high = Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(v, 8)) - z;
            Requantization.NarrowToInt8(Requantization.Requantize(low, multiplier, shift, zero, min, max),
                Requantization.Requantize(high, multiplier, shift, zero, min, max)).StoreUnsafe(ref ry, (nuint)i);
        }
        return i;
    }

    private static int RequantizeVector128(ReadOnlySpan<sbyte> x, Span<sbyte> y, int zx, int multiplier, int shift, int zy)
    {
        ref sbyte rx = ref MemoryMarshal.GetReference(x);
        ref sbyte ry = ref MemoryMarshal.GetReference(y);
        Vector128<int> z = Vector128.Create(zx), zero = Vector128.Create(zy), min = Vector128.Create((int)sbyte.MinValue), max = Vector128.Create((int)sbyte.MaxValue);
        int i = 0;
        for (; i + 16 <= x.Length; i += 16)
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref rx, (nuint)i));
            var (a0, a1) = Vector128.Widen(lo);
            var (a2, a3) = Vector128.Widen(hi);
            // Each lane is already inside [-128, 127]: the truncating narrows keep it.
            Vector128.Narrow(
                Vector128.Narrow(Requantization.Requantize(a0 - z, multiplier, shift, zero, min, max), Requantization.Requantize(a1 - z, multiplier, shift, zero, min, max)),
                Vector128.Narrow(Requantization.Requantize(a2 - z, multiplier, shift, zero, min, max), Requantization.Requantize(a3 - z, multiplier, shift, zero, min, max)))
                .StoreUnsafe(ref ry, (nuint)i);
        }
        return i;
    }

    /// <summary>x − z widened by SSUBL, then <see cref="Requantization.RequantizeToInt8"/> (SQRDMULH and rounding shifts).</summary>
    private static int RequantizeAdvSimd(ReadOnlySpan<sbyte> x, Span<sbyte> y, int zx, int multiplier, int shift, int zy)
    {
        ref sbyte rx = ref MemoryMarshal.GetReference(x);
        ref sbyte ry = ref MemoryMarshal.GetReference(y);
        // (x − z) spans 9 bits: widened as bytes minus the zero point would wrap, so both are widened first.
        var z = Vector128.Create((short)zx);
        var m = Vector128.Create(multiplier);
        var shiftVector = Vector128.Create(shift);
        var zero = Vector128.Create(zy);
        Vector128<sbyte> min = Vector128.Create(sbyte.MinValue), max = Vector128.Create(sbyte.MaxValue);
        int i = 0;
        for (; i + 16 <= x.Length; i += 16)
        {
            var v = Vector128.LoadUnsafe(ref rx, (nuint)i);
            var lo = AdvSimd.SignExtendWideningLower(v.GetLower()) - z;
            var hi = AdvSimd.SignExtendWideningUpper(v) - z;
            Requantization.RequantizeToInt8(AdvSimd.SignExtendWideningLower(lo.GetLower()), AdvSimd.SignExtendWideningUpper(lo),
                AdvSimd.SignExtendWideningLower(hi.GetLower()), AdvSimd.SignExtendWideningUpper(hi), m, shiftVector, shift, zero, min, max)
                .StoreUnsafe(ref ry, (nuint)i);
        }
        return i;
    }
}
