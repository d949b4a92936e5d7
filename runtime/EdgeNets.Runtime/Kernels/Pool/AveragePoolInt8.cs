using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 AveragePool: per output row, the window rows are summed into an int16 row bordered with zeros (padded taps add
/// nothing, as the reference skips them), then each output's window columns are summed in int32 and divided.
/// <para>
/// Exactness: integer sums are order-free. The reference's rounded division (sum ± count/2) / count, truncating, is
/// computed as float: both operands are exact in float (|n| &lt; 2^23, count ≤ 2^16), and float division of
/// n = q·count + r can only round up to q + 1 if count·(q + 1) &gt; 2^24, so truncating the float quotient gives q.
/// </para>
/// </summary>
internal sealed class AveragePoolInt8 : OpKernel
{
    private readonly string _name;
    private readonly bool _wide;
    private readonly int _x, _y, _zeroPoint, _min, _max;
    private readonly bool _countIncludePad;
    private readonly Window2d _g;
    /// <summary>Window row sums of the current output row; PadLeft zeros, the W sums, zeros to the farthest tap (and a vector's slack).</summary>
    private readonly short[] _rowSums;
    private readonly int[] _columnSums;
    /// <summary>Per output column: taps inside the input, and taps counted with count_include_pad.</summary>
    private readonly int[] _columnTaps, _columnCounted;

    public static bool CanHandle(KernelSetup s)
    {
        try
        {
            if (s.InputCount != 1 || s.OutputCount != 1 || !s.HasInput(0)) return false;
            if (s.Attributes.GetInts(AttributeKey.Dilations) is { } d && d.Any(v => v != 1)) return false;
            if (s.Attributes.GetInt(AttributeKey.CountIncludePad, 0) is not (0 or 1)) return false;
            var g = PoolKernels.PreparePool(s, DataType.Int8, out _, out _, out _);
            return g.KernelH <= 255 && g.KernelW <= 255; // int16 row sums; float-exact quotients
        }
        catch (Exception)
        {
            return false;
        }
    }

    public AveragePoolInt8(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _wide = isa == Isa.Avx2;
        _countIncludePad = s.Attributes.GetInt(AttributeKey.CountIncludePad, 0) == 1;
        var g = _g = PoolKernels.PreparePool(s, DataType.Int8, out _zeroPoint, out _min, out _max);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        int reach = (g.OutW - 1) * g.StrideW + g.KernelW;
        _rowSums = new short[Math.Max(reach, g.PadLeft + g.W) + 32];
        _columnSums = new int[g.OutW + 8];
        _columnTaps = new int[g.OutW + 8];
        _columnCounted = new int[g.OutW + 8];
        for (int ow = 0; ow < g.OutW; ow++)
        {
            _columnTaps[ow] = g.ColTapEnd[ow] - g.ColTapBegin[ow];
            _columnCounted[ow] = g.ColPaddedCount[ow];
        }
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        var g = _g;
        int planeSize = g.H * g.W, outPlane = g.OutH * g.OutW;
        var row = _rowSums.AsSpan(g.PadLeft, g.W);
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            var xPlane = x.Slice(plane * planeSize, planeSize);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                int ih0 = oh * g.StrideH - g.PadTop, begin = g.RowTapBegin[oh], end = g.RowTapEnd[oh];
                Widen(xPlane.Slice((ih0 + begin) * g.W, g.W), row);
                for (int kh = begin + 1; kh < end; kh++) AddWidened(xPlane.Slice((ih0 + kh) * g.W, g.W), row);
                SumColumns();
                Divide(end - begin, g.RowPaddedCount[oh], y.Slice(plane * outPlane + oh * g.OutW, g.OutW));
            }
        }
    }

    private void Widen(ReadOnlySpan<sbyte> src, Span<short> dst)
    {
        int i = 0;
        ref sbyte s = ref MemoryMarshal.GetReference(src);
        ref short d = ref MemoryMarshal.GetReference(dst);
        for (; i + 16 <= src.Length; i += 16)
        {
            var v = Vector128.LoadUnsafe(ref s, (nuint)i);
            Vector128.WidenLower(v).StoreUnsafe(ref d, (nuint)i);
            Vector128.WidenUpper(v).StoreUnsafe(ref d, (nuint)(i + 8));
        }
        for (; i < src.Length; i++) dst[i] = src[i];
    }

    private void AddWidened(ReadOnlySpan<sbyte> src, Span<short> dst)
    {
        int i = 0;
        ref sbyte s = ref MemoryMarshal.GetReference(src);
        ref short d = ref MemoryMarshal.GetReference(dst);
        for (; i + 16 <= src.Length; i += 16)
        {
            var v = Vector128.LoadUnsafe(ref s, (nuint)i);
            (Vector128.LoadUnsafe(ref d, (nuint)i) + Vector128.WidenLower(v)).StoreUnsafe(ref d, (nuint)i);
            (Vector128.LoadUnsafe(ref d, (nuint)(i + 8)) + Vector128.WidenUpper(v)).StoreUnsafe(ref d, (nuint)(i + 8));
        }
        for (; i < src.Length; i++) dst[i] += src[i];
    }

    /// <summary>Column sums of each output's window over the bordered row sums (int32: a whole window may exceed int16).</summary>
    private void SumColumns()
    {
        var g = _g;
        ref short rows = ref MemoryMarshal.GetArrayDataReference(_rowSums);
        ref int sums = ref MemoryMarshal.GetArrayDataReference(_columnSums);
        int ow = 0;
        if (g.StrideW == 1)
        {
            for (; ow + 8 <= g.OutW; ow += 8)
            {
                var acc = Vector128.WidenLower(Vector128.LoadUnsafe(ref rows, (nuint)ow));
                var acc2 = Vector128.WidenUpper(Vector128.LoadUnsafe(ref rows, (nuint)ow));
                for (int kw = 1; kw < g.KernelW; kw++)
                {
                    var v = Vector128.LoadUnsafe(ref rows, (nuint)(ow + kw));
                    acc += Vector128.WidenLower(v);
                    acc2 += Vector128.WidenUpper(v);
                }
                acc.StoreUnsafe(ref sums, (nuint)ow);
                acc2.StoreUnsafe(ref sums, (nuint)(ow + 4));
            }
        }
        for (; ow < g.OutW; ow++)
        {
            int start = ow * g.StrideW, sum = 0;
            for (int kw = 0; kw < g.KernelW; kw++) sum += _rowSums[start + kw];
            _columnSums[ow] = sum;
        }
    }

    /// <summary>The reference's rounded mean of each column sum, clamped, as int8.</summary>
    private void Divide(int rowTaps, int rowCounted, Span<sbyte> y)
    {
        ref int sums = ref MemoryMarshal.GetArrayDataReference(_columnSums);
        ref int taps = ref MemoryMarshal.GetArrayDataReference(_columnTaps);
        ref int counted = ref MemoryMarshal.GetArrayDataReference(_columnCounted);
        int n = y.Length, ow = 0;
        if (_wide)
        {
            var rowTapsV = Vector256.Create(rowTaps);
            var rowCountedV = Vector256.Create(rowCounted);
            var zp = Vector256.Create(_zeroPoint);
            var lo = Vector256.Create(_min);
            var hi = Vector256.Create(_max);
            for (; ow + 8 <= n; ow += 8)
            {
                var sum = Vector256.LoadUnsafe(ref sums, (nuint)ow);
                var count = rowTapsV * Vector256.LoadUnsafe(ref taps, (nuint)ow);
                if (_countIncludePad)
                {
                    // Counted padding is real zero, i.e. the zero point.
                    var all = rowCountedV * Vector256.LoadUnsafe(ref counted, (nuint)ow);
                    sum += zp * (all - count);
                    count = all;
                }
                var half = Vector256.ShiftRightArithmetic(count, 1);
                var rounded = Vector256.ConditionalSelect(Vector256.GreaterThan(sum, Vector256<int>.Zero), sum + half, sum - half);
                var q = Vector256.ConvertToInt32(Vector256.ConvertToSingle(rounded) / Vector256.ConvertToSingle(count));
                q = Vector256.Min(Vector256.Max(q, lo), hi);
                for (int i = 0; i < 8; i++) y[ow + i] = (sbyte)q.GetElement(i);
            }
        }
        else
        {
            var rowTapsV = Vector128.Create(rowTaps);
            var rowCountedV = Vector128.Create(rowCounted);
            var zp = Vector128.Create(_zeroPoint);
            var lo = Vector128.Create(_min);
            var hi = Vector128.Create(_max);
            for (; ow + 4 <= n; ow += 4)
            {
                var sum = Vector128.LoadUnsafe(ref sums, (nuint)ow);
                var count = rowTapsV * Vector128.LoadUnsafe(ref taps, (nuint)ow);
                if (_countIncludePad)
                {
                    var all = rowCountedV * Vector128.LoadUnsafe(ref counted, (nuint)ow);
                    sum += zp * (all - count);
                    count = all;
                }
                var half = Vector128.ShiftRightArithmetic(count, 1);
                var rounded = Vector128.ConditionalSelect(Vector128.GreaterThan(sum, Vector128<int>.Zero), sum + half, sum - half);
                var q = Vector128.ConvertToInt32(Vector128.ConvertToSingle(rounded) / Vector128.ConvertToSingle(count));
                q = Vector128.Min(Vector128.Max(q, lo), hi);
                for (int i = 0; i < 4; i++) y[ow + i] = (sbyte)q.GetElement(i);
            }
        }
        for (; ow < n; ow++)
        {
            int count = rowTaps * _columnTaps[ow], sum = _columnSums[ow];
            if (_countIncludePad)
            {
                int all = rowCounted * _columnCounted[ow];
                sum += _zeroPoint * (all - count);
                count = all;
            }
            y[ow] = (sbyte)Math.Clamp(PoolKernels.RoundedDivide(sum, count), _min, _max);
        }
    }
}
