using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 MaxPool: for each output row, the max over its input rows is taken into a row buffer bordered with -128
/// (so padded and ceil_mode taps read a value that never wins, which is what the reference's skipping amounts to),
/// then the max over the row's window columns: contiguous loads for stride 1, for stride 2 even/odd byte lanes of
/// int16 words (AdvSimd: UZP1/UZP2 of two vectors), a scalar loop otherwise. Rows narrower than a vector end with one
/// more vector that overlaps the previous one (recomputing a max is harmless); output rows narrower than a vector are
/// computed into a scratch vector and copied. Integer max is order-free, so the result is the reference's exactly.
/// </summary>
internal sealed class MaxPoolInt8 : OpKernel
{
    private readonly string _name;
    private readonly bool _wide, _uzp;
    private readonly int _x, _y, _min, _max;
    private readonly Window2d _g;
    private readonly sbyte[] _row;
    /// <summary>One vector of outputs for rows narrower than a vector.</summary>
    private readonly sbyte[] _short = new sbyte[32];
    /// <summary>Stride 1, or stride 2 without dilation: the column maxima are taken a vector at a time.</summary>
    private readonly bool _vectorColumns;
    /// <summary>2x2 windows at stride 2 tiling the input exactly (no padding, even H and W, output width a multiple of 4).</summary>
    private readonly bool _tiled2x2;

    public static bool CanHandle(KernelSetup s)
    {
        try
        {
            if (s.InputCount != 1 || s.OutputCount != 1 || !s.HasInput(0)) return false;
            PoolKernels.PreparePool(s, DataType.Int8, out _, out _, out _);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    public MaxPoolInt8(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _wide = isa == Isa.Avx2;
        _uzp = isa == Isa.AdvSimd;
        var g = _g = PoolKernels.PreparePool(s, DataType.Int8, out _, out _min, out _max);
        _vectorColumns = g.StrideW == 1 || (g.StrideW == 2 && g.DilationW == 1);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        // Vector reads of a window may run up to 64 bytes past the last window, and a short row's one vector of
        // 16 outputs up to 16 strides past its first.
        int reach = (Math.Max(g.OutW, 16) - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1;
        _row = new sbyte[Math.Max(reach, g.PadLeft + g.W) + 64];
        Array.Fill(_row, sbyte.MinValue);
        _tiled2x2 = g.KernelH == 2 && g.KernelW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.DilationH == 1 && g.DilationW == 1
            && g.PadTop == 0 && g.PadLeft == 0 && g.OutH * 2 == g.H && g.OutW * 2 == g.W && g.OutW % 4 == 0;
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        var g = _g;
        if (_tiled2x2)
        {
            Tiled2x2(x, y);
            return;
        }
        var row = _row.AsSpan(g.PadLeft, g.W);
        int planeSize = g.H * g.W, outPlane = g.OutH * g.OutW;
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            var xPlane = x.Slice(plane * planeSize, planeSize);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                int ih0 = oh * g.StrideH - g.PadTop;
                RowsMax(row, xPlane, ih0, g.RowTapBegin[oh], g.RowTapEnd[oh]);
                var yRow = y.Slice(plane * outPlane + oh * g.OutW, g.OutW);
                if (g.OutW >= 16 || !_vectorColumns)
                {
                    Columns(yRow);
                }
                else
                {
                    Columns(_short.AsSpan(0, 16));
                    _short.AsSpan(0, g.OutW).CopyTo(yRow);
                }
            }
        }
    }

    /// <summary>row = elementwise max of the input rows ih0 + kh * DilationH for kh in [begin, end).</summary>
    private void RowsMax(Span<sbyte> row, ReadOnlySpan<sbyte> xPlane, int ih0, int begin, int end)
    {
        var g = _g;
        int w = g.W, step = g.DilationH * w, first = (ih0 + begin * g.DilationH) * w, count = end - begin;
        ref sbyte dst = ref MemoryMarshal.GetReference(row);
        ref sbyte src = ref Unsafe.Add(ref MemoryMarshal.GetReference(xPlane), first);
        if (_wide && w >= 32)
        {
            for (int i = 0; ; i += 32)
            {
                if (i > w - 32) i = w - 32;
                var m = Vector256.LoadUnsafe(ref src, (nuint)i);
                for (int k = 1; k < count; k++) m = Vector256.Max(m, Vector256.LoadUnsafe(ref src, (nuint)(i + k * step)));
                m.StoreUnsafe(ref dst, (nuint)i);
                if (i == w - 32) return;
            }
        }
        if (w >= 16)
        {
            for (int i = 0; ; i += 16)
            {
                if (i > w - 16) i = w - 16;
                var m = Vector128.LoadUnsafe(ref src, (nuint)i);
                for (int k = 1; k < count; k++) m = Vector128.Max(m, Vector128.LoadUnsafe(ref src, (nuint)(i + k * step)));
                m.StoreUnsafe(ref dst, (nuint)i);
                if (i == w - 16) return;
            }
        }
        if (w >= 8)
        {
            // 8 bytes at a time: Vector64 where it is accelerated (arm64), else the low half of a Vector128 (x64).
            for (int i = 0; ; i += 8)
            {
                if (i > w - 8) i = w - 8;
                if (Vector64.IsHardwareAccelerated)
                {
                    var m = Vector64.LoadUnsafe(ref src, (nuint)i);
                    for (int k = 1; k < count; k++) m = Vector64.Max(m, Vector64.LoadUnsafe(ref src, (nuint)(i + k * step)));
                    m.StoreUnsafe(ref dst, (nuint)i);
                }
                else
                {
                    var m = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref src, i)))).AsSByte();
                    for (int k = 1; k < count; k++)
                        m = Vector128.Max(m, Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref src, i + k * step)))).AsSByte());
                    Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref dst, i)), m.AsInt64().ToScalar());
                }
                if (i == w - 8) return;
            }
        }
        for (int i = 0; i < w; i++)
        {
            int m = Unsafe.Add(ref src, i);
            for (int k = 1; k < count; k++) m = Math.Max(m, Unsafe.Add(ref src, i + k * step));
            Unsafe.Add(ref dst, i) = (sbyte)m;
        }
    }

    /// <summary>
    /// The 2x2 stride-2 pool over all planes at once: every run of 4 outputs reads 8 bytes of each of its two input
    /// rows; two runs fill a vector, whose even and odd bytes (the low and high bytes of its int16 words) are the two
    /// columns of each window.
    /// </summary>
    private void Tiled2x2(ReadOnlySpan<sbyte> x, Span<sbyte> y)
    {
        var g = _g;
        int w = g.W, outW = g.OutW, outputs = g.N * g.C * g.OutH * outW;
        ref byte src = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(x));
        ref sbyte dst = ref MemoryMarshal.GetReference(y);
        var lo = Vector128.Create((short)_min);
        var hi = Vector128.Create((short)_max);
        // The run of outputs o..o+3 lies in output row o / outW, whose windows start at input byte 2 * (o / outW) * w + 2 * (o % outW).
        int o = 0, top = 0, column = 0;
        for (; o + 16 <= outputs; o += 16)
        {
            long t0 = Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref src, top)), b0 = Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref src, top + w));
            Next(ref top, ref column, outW, w);
            long t1 = Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref src, top)), b1 = Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref src, top + w));
            Next(ref top, ref column, outW, w);
            long t2 = Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref src, top)), b2 = Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref src, top + w));
            Next(ref top, ref column, outW, w);
            long t3 = Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref src, top)), b3 = Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref src, top + w));
            Next(ref top, ref column, outW, w);
            var a = Vector128.Max(Vector128.Create(t0, t1).AsSByte(), Vector128.Create(b0, b1).AsSByte()).AsInt16();
            var b = Vector128.Max(Vector128.Create(t2, t3).AsSByte(), Vector128.Create(b2, b3).AsSByte()).AsInt16();
            a = Vector128.Max(Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(a, 8), 8), Vector128.ShiftRightArithmetic(a, 8));
            b = Vector128.Max(Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(b, 8), 8), Vector128.ShiftRightArithmetic(b, 8));
            Vector128.Narrow(Vector128.Min(Vector128.Max(a, lo), hi), Vector128.Min(Vector128.Max(b, lo), hi)).StoreUnsafe(ref dst, (nuint)o);
        }
        for (; o < outputs; o++)
        {
            int row = o / outW, start = 2 * row * w + 2 * (o % outW);
            int m = Math.Max(Math.Max(x[start], x[start + 1]), Math.Max(x[start + w], x[start + w + 1]));
            y[o] = (sbyte)Math.Clamp(m, _min, _max);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Next(ref int top, ref int column, int outW, int w)
    {
        column += 4;
        top += 8;
        if (column == outW)
        {
            // The next output row starts two input rows down; this one's pairs already advanced one row's width.
            column = 0;
            top += w;
        }
    }

    /// <summary>
    /// Max over each output column's window of the bordered row buffer, clamped. Stride 1, and stride 2 without
    /// dilation, take whole vectors, the last one overlapping (<paramref name="y"/> is at least 16 long for them).
    /// </summary>
    private void Columns(Span<sbyte> y)
    {
        var g = _g;
        ref sbyte row = ref MemoryMarshal.GetArrayDataReference(_row);
        ref sbyte dst = ref MemoryMarshal.GetReference(y);
        int n = y.Length, kw = g.KernelW, dw = g.DilationW;
        if (g.StrideW == 1)
        {
            if (_wide && n >= 32)
            {
                Vector256<sbyte> lo = Vector256.Create((sbyte)_min), hi = Vector256.Create((sbyte)_max);
                for (int ow = 0; ; ow += 32)
                {
                    if (ow > n - 32) ow = n - 32;
                    var m = Vector256.LoadUnsafe(ref row, (nuint)ow);
                    for (int k = 1; k < kw; k++) m = Vector256.Max(m, Vector256.LoadUnsafe(ref row, (nuint)(ow + k * dw)));
                    Vector256.Min(Vector256.Max(m, lo), hi).StoreUnsafe(ref dst, (nuint)ow);
                    if (ow == n - 32) return;
                }
            }
            Vector128<sbyte> lo8 = Vector128.Create((sbyte)_min), hi8 = Vector128.Create((sbyte)_max);
            for (int ow = 0; ; ow += 16)
            {
                if (ow > n - 16) ow = n - 16;
                var m = Vector128.LoadUnsafe(ref row, (nuint)ow);
                for (int k = 1; k < kw; k++) m = Vector128.Max(m, Vector128.LoadUnsafe(ref row, (nuint)(ow + k * dw)));
                Vector128.Min(Vector128.Max(m, lo8), hi8).StoreUnsafe(ref dst, (nuint)ow);
                if (ow == n - 16) return;
            }
        }
        if (g.StrideW == 2 && dw == 1)
        {
            if (_uzp)
            {
                Stride2AdvSimd(ref row, ref dst, n, kw);
                return;
            }
            // Output ow's tap k is byte 2*ow + k: the low (even) or high (odd) byte of int16 word ow + k/2.
            ref short words = ref Unsafe.As<sbyte, short>(ref row);
            if (_wide && n >= 32)
            {
                Vector256<short> lo = Vector256.Create((short)_min), hi = Vector256.Create((short)_max);
                for (int ow = 0; ; ow += 32)
                {
                    if (ow > n - 32) ow = n - 32;
                    var a = Stride2Max256(ref words, ow, kw);
                    var b = Stride2Max256(ref words, ow + 16, kw);
                    Vector256.Narrow(Vector256.Min(Vector256.Max(a, lo), hi), Vector256.Min(Vector256.Max(b, lo), hi)).StoreUnsafe(ref dst, (nuint)ow);
                    if (ow == n - 32) return;
                }
            }
            Vector128<short> lo16 = Vector128.Create((short)_min), hi16 = Vector128.Create((short)_max);
            for (int ow = 0; ; ow += 16)
            {
                if (ow > n - 16) ow = n - 16;
                var a = Stride2Max128(ref words, ow, kw);
                var b = Stride2Max128(ref words, ow + 8, kw);
                Vector128.Narrow(Vector128.Min(Vector128.Max(a, lo16), hi16), Vector128.Min(Vector128.Max(b, lo16), hi16)).StoreUnsafe(ref dst, (nuint)ow);
                if (ow == n - 16) return;
            }
        }
        for (int ow = 0; ow < n; ow++)
        {
            int start = ow * g.StrideW;
            int m = sbyte.MinValue;
            for (int k = 0; k < kw; k++)
            {
                int v = Unsafe.Add(ref row, start + k * dw);
                if (v > m) m = v;
            }
            y[ow] = (sbyte)Math.Clamp(m, _min, _max);
        }
    }

    /// <summary>
    /// Stride 2 on arm64: UZP1 and UZP2 of the 32 bytes from 2*ow + 2t are taps 2t and 2t + 1 of 16 outputs.
    /// </summary>
    private void Stride2AdvSimd(ref sbyte row, ref sbyte dst, int n, int kw)
    {
        Vector128<sbyte> lo = Vector128.Create((sbyte)_min), hi = Vector128.Create((sbyte)_max);
        for (int ow = 0; ; ow += 16)
        {
            if (ow > n - 16) ow = n - 16;
            var m = Vector128.Create(sbyte.MinValue);
            for (int k = 0; k < kw; k += 2)
            {
                var a = Vector128.LoadUnsafe(ref row, (nuint)(2 * ow + k));
                var b = Vector128.LoadUnsafe(ref row, (nuint)(2 * ow + k + 16));
                m = AdvSimd.Max(m, AdvSimd.Arm64.UnzipEven(a, b));
                if (k + 1 < kw) m = AdvSimd.Max(m, AdvSimd.Arm64.UnzipOdd(a, b));
            }
            AdvSimd.Min(AdvSimd.Max(m, lo), hi).StoreUnsafe(ref dst, (nuint)ow);
            if (ow == n - 16) return;
        }
    }

    private static Vector256<short> Stride2Max256(ref short words, int ow, int kw)
    {
        var m = Vector256.Create(short.MinValue);
        for (int k = 0; k < kw; k++)
        {
            var w = Vector256.LoadUnsafe(ref words, (nuint)(ow + (k >> 1)));
            var v = (k & 1) == 0 ? Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(w, 8), 8) : Vector256.ShiftRightArithmetic(w, 8);
            m = Vector256.Max(m, v);
        }
        return m;
    }

    private static Vector128<short> Stride2Max128(ref short words, int ow, int kw)
    {
        var m = Vector128.Create(short.MinValue);
        for (int k = 0; k < kw; k++)
        {
            var w = Vector128.LoadUnsafe(ref words, (nuint)(ow + (k >> 1)));
            var v = (k & 1) == 0 ? Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(w, 8), 8) : Vector128.ShiftRightArithmetic(w, 8);
            m = Vector128.Max(m, v);
        }
        return m;
    }
}

/// <summary>
/// Int8 GlobalAveragePool and GlobalMaxPool: each plane's sum (exact in int32, so order-free) or max taken 32 or 16
/// bytes at a time, then the reference's rounded division and clamp.
/// </summary>
internal sealed class GlobalPoolInt8 : OpKernel
{
    private readonly string _name;
    private readonly bool _wide, _average;
    private readonly int _x, _y, _min, _max, _planes, _planeSize;

    public static bool CanHandle(KernelSetup s)
    {
        try
        {
            if (s.InputCount != 1 || s.OutputCount != 1 || !s.HasInput(0)) return false;
            PoolKernels.PrepareGlobalPool(s, DataType.Int8, out _, out _);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    public GlobalPoolInt8(KernelSetup s, bool average, Isa isa, string name)
    {
        _name = name;
        _wide = isa == Isa.Avx2;
        _average = average;
        (_planes, _planeSize) = PoolKernels.PrepareGlobalPool(s, DataType.Int8, out _min, out _max);
        _x = s.InputId(0);
        _y = s.OutputId(0);
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        for (int p = 0; p < _planes; p++)
        {
            var plane = x.Slice(p * _planeSize, _planeSize);
            int result = _average ? PoolKernels.RoundedDivide(Sum(plane), _planeSize) : Max(plane);
            y[p] = (sbyte)Math.Clamp(result, _min, _max);
        }
    }

    private int Sum(ReadOnlySpan<sbyte> plane)
    {
        ref sbyte p = ref MemoryMarshal.GetReference(plane);
        int i = 0, n = plane.Length, sum = 0;
        if (_wide && n >= 32)
        {
            var acc = Vector256<int>.Zero;
            for (; i + 32 <= n; i += 32)
            {
                var (a, b) = Vector256.Widen(Vector256.LoadUnsafe(ref p, (nuint)i));
                var (c, d) = Vector256.Widen(a + b);
                acc += c + d;
            }
            sum = Vector256.Sum(acc);
        }
        if (n - i >= 16)
        {
            var acc = Vector128<int>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                var (a, b) = Vector128.Widen(Vector128.LoadUnsafe(ref p, (nuint)i));
                var (c, d) = Vector128.Widen(a + b);
                acc += c + d;
            }
            sum += Vector128.Sum(acc);
        }
        for (; i < n; i++) sum += plane[i];
        return sum;
    }

    private int Max(ReadOnlySpan<sbyte> plane)
    {
        ref sbyte p = ref MemoryMarshal.GetReference(plane);
        int i = 0, n = plane.Length, best = sbyte.MinValue;
        var m = Vector128.Create(sbyte.MinValue);
        if (_wide && n >= 32)
        {
            var w = Vector256.Create(sbyte.MinValue);
            for (; i + 32 <= n; i += 32) w = Vector256.Max(w, Vector256.LoadUnsafe(ref p, (nuint)i));
            m = Vector128.Max(w.GetLower(), w.GetUpper());
        }
        for (; i + 16 <= n; i += 16) m = Vector128.Max(m, Vector128.LoadUnsafe(ref p, (nuint)i));
        for (int l = 0; l < 16; l++) if (m.GetElement(l) > best) best = m.GetElement(l);
        for (; i < n; i++) if (plane[i] > best) best = plane[i];
        return best;
    }
}
