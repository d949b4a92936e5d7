using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Float32 Conv (all but depthwise) and Gemm as vector GEMMs that give the reference's bits.
/// <para>
/// Exactness: the reference computes each output as acc = bias, then acc += x·w over the taps in (channel, row, column)
/// order, each product rounded, then each sum (the JIT never fuses them into a multiply-add). These kernels vectorize
/// across output pixels (Conv) or output features (Gemm), so every lane performs the same operations in the same order
/// on the same values: identical results, NaN and infinities included. Conv taps that fall into the padding are
/// skipped by the reference and added here as x = +0; adding ±0 leaves every sum unchanged except a -0 sum plus +0,
/// and a sum can only be -0 when the bias is -0. So Conv declines operators whose bias holds a -0 or whose weights are
/// not finite (∞·0 would be NaN), and leaves them to the reference.
/// </para>
/// </summary>
internal static class Float32Gemm
{
    /// <summary>Y[m, p] = clamp(bias[m] + Σ_k W[m, k]·X[k, p]) for rows [m0, m1) and all pixels; X rows are <paramref name="stride"/> apart.</summary>
    public static void Rows(bool wide, ReadOnlySpan<float> weights, int k, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, int stride, int pixels,
        Span<float> y, int m0, int m1, float min, float max)
    {
        if (wide) Rows<Float256, Vector256<float>>(weights, k, bias, x, stride, pixels, y, m0, m1, min, max);
        else Rows<Float128, Vector128<float>>(weights, k, bias, x, stride, pixels, y, m0, m1, min, max);
    }

    private static void Rows<TOps, TVec>(ReadOnlySpan<float> weights, int k, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, int stride, int pixels,
        Span<float> y, int m0, int m1, float min, float max)
        where TOps : struct, IFloatVector<TVec> where TVec : struct
    {
        int lanes = TOps.Count;
        ref float w = ref MemoryMarshal.GetReference(weights);
        ref float xs = ref MemoryMarshal.GetReference(x);
        var vmin = TOps.Splat(min);
        var vmax = TOps.Splat(max);
        Span<float> tail = stackalloc float[2 * 8];
        int m = m0;
        // Four output rows at a time share each pixel load; two vectors of pixels per row.
        for (; m + 4 <= m1; m += 4)
        {
            for (int p = 0; p < pixels; p += 2 * lanes)
            {
                var a00 = TOps.Splat(bias.IsEmpty ? 0f : bias[m]);
                var a10 = TOps.Splat(bias.IsEmpty ? 0f : bias[m + 1]);
                var a20 = TOps.Splat(bias.IsEmpty ? 0f : bias[m + 2]);
                var a30 = TOps.Splat(bias.IsEmpty ? 0f : bias[m + 3]);
                TVec a01 = a00, a11 = a10, a21 = a20, a31 = a30;
                ref float w0 = ref Unsafe.Add(ref w, m * k);
                ref float col = ref Unsafe.Add(ref xs, p);
                for (int i = 0; i < k; i++)
                {
                    var x0 = TOps.Load(ref col, 0);
                    var x1 = TOps.Load(ref col, (nuint)lanes);
                    var b0 = TOps.Splat(Unsafe.Add(ref w0, i));
                    var b1 = TOps.Splat(Unsafe.Add(ref w0, k + i));
                    var b2 = TOps.Splat(Unsafe.Add(ref w0, 2 * k + i));
                    var b3 = TOps.Splat(Unsafe.Add(ref w0, 3 * k + i));
                    a00 = TOps.Add(a00, TOps.Multiply(x0, b0)); a01 = TOps.Add(a01, TOps.Multiply(x1, b0));
                    a10 = TOps.Add(a10, TOps.Multiply(x0, b1)); a11 = TOps.Add(a11, TOps.Multiply(x1, b1));
                    a20 = TOps.Add(a20, TOps.Multiply(x0, b2)); a21 = TOps.Add(a21, TOps.Multiply(x1, b2));
                    a30 = TOps.Add(a30, TOps.Multiply(x0, b3)); a31 = TOps.Add(a31, TOps.Multiply(x1, b3));
                    col = ref Unsafe.Add(ref col, stride);
                }
                Store<TOps, TVec>(a00, a01, y.Slice(m * pixels), p, pixels, vmin, vmax, tail);
                Store<TOps, TVec>(a10, a11, y.Slice((m + 1) * pixels), p, pixels, vmin, vmax, tail);
                Store<TOps, TVec>(a20, a21, y.Slice((m + 2) * pixels), p, pixels, vmin, vmax, tail);
                Store<TOps, TVec>(a30, a31, y.Slice((m + 3) * pixels), p, pixels, vmin, vmax, tail);
            }
        }
        for (; m < m1; m++)
        {
            for (int p = 0; p < pixels; p += 2 * lanes)
            {
                var a0 = TOps.Splat(bias.IsEmpty ? 0f : bias[m]);
                var a1 = a0;
                ref float w0 = ref Unsafe.Add(ref w, m * k);
                ref float col = ref Unsafe.Add(ref xs, p);
                for (int i = 0; i < k; i++)
                {
                    var b = TOps.Splat(Unsafe.Add(ref w0, i));
                    a0 = TOps.Add(a0, TOps.Multiply(TOps.Load(ref col, 0), b));
                    a1 = TOps.Add(a1, TOps.Multiply(TOps.Load(ref col, (nuint)lanes), b));
                    col = ref Unsafe.Add(ref col, stride);
                }
                Store<TOps, TVec>(a0, a1, y.Slice(m * pixels), p, pixels, vmin, vmax, tail);
            }
        }
    }

    /// <summary>Clamps two vectors and stores them at <paramref name="p"/>, or the part of them that is left of the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TOps, TVec>(TVec a0, TVec a1, Span<float> row, int p, int pixels, TVec min, TVec max, Span<float> tail)
        where TOps : struct, IFloatVector<TVec> where TVec : struct
    {
        int lanes = TOps.Count;
        a0 = TOps.Clamp(a0, min, max);
        a1 = TOps.Clamp(a1, min, max);
        if (p + 2 * lanes <= pixels)
        {
            TOps.Store(a0, ref MemoryMarshal.GetReference(row), (nuint)p);
            TOps.Store(a1, ref MemoryMarshal.GetReference(row), (nuint)(p + lanes));
            return;
        }
        TOps.Store(a0, ref MemoryMarshal.GetReference(tail), 0);
        TOps.Store(a1, ref MemoryMarshal.GetReference(tail), (nuint)lanes);
        tail[..(pixels - p)].CopyTo(row[p..pixels]);
    }

    /// <summary>Pixel count rounded up to whole 16-pixel blocks: the im2col rows are this long, the tail zero.</summary>
    public static int PaddedPixels(int pixels) => (pixels + 15) & ~15;
}

/// <summary>Float32 Conv (not depthwise): im2col per image and group (1x1 stride-1 unpadded convs read the input in place), then <see cref="Float32Gemm"/>.</summary>
internal sealed class ConvFloat32Gemm : OpKernel
{
    private readonly string _name;
    private readonly bool _wide;
    private readonly int _x, _y;
    private readonly Window2d _g;
    private readonly int _group, _cpg, _mpg, _taps, _pixels, _stride;
    private readonly float _min, _max;
    private readonly float[] _weights, _bias;
    private readonly float[] _columns;
    private readonly bool _direct;

    public static bool CanHandle(KernelSetup s)
    {
        var shape = ConvKernels.ConvShape.TryRead(s, DataType.Float32, DataType.Float32);
        if (shape == null || shape.IsDepthwise) return false;
        foreach (float w in s.ConstantInput<float>(1))
            if (!float.IsFinite(w)) return false;
        if (s.HasInput(2))
            foreach (float b in s.ConstantInput<float>(2))
                if (b == 0f && float.IsNegative(b)) return false;
        return true;
    }

    public ConvFloat32Gemm(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _wide = isa == Isa.Avx2;
        var shape = new ConvKernels.ConvShape(s, DataType.Float32, DataType.Float32);
        _g = shape.Window;
        _group = shape.Group;
        _cpg = shape.InChannelsPerGroup;
        _mpg = shape.OutChannelsPerGroup;
        _taps = _cpg * _g.KernelH * _g.KernelW;
        _pixels = _g.OutH * _g.OutW;
        (_min, _max) = ConvKernels.ReadFloatClamp(s);
        _weights = s.ConstantInput<float>(1).ToArray();
        _bias = s.HasInput(2) ? s.ConstantInput<float>(2).ToArray() : [];
        _x = s.InputId(0);
        _y = s.OutputId(0);
        _direct = _g.KernelH == 1 && _g.KernelW == 1 && _g.StrideH == 1 && _g.StrideW == 1 && _g.PadTop == 0 && _g.PadLeft == 0
                  && _g.OutH == _g.H && _g.OutW == _g.W && _pixels % 16 == 0; // whole 16-pixel blocks: no read past the input
        _stride = _direct ? _pixels : Float32Gemm.PaddedPixels(_pixels);
        // im2col rows padded to whole 16-pixel blocks (the padding stays zero), so the last block reads inside the array.
        _columns = _direct ? [] : new float[_taps * _stride];
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<float>(_x);
        var y = memory.Write<float>(_y);
        var g = _g;
        int plane = g.H * g.W;
        for (int n = 0; n < g.N; n++)
        {
            for (int grp = 0; grp < _group; grp++)
            {
                var input = x.Slice((n * g.C + grp * _cpg) * plane, _cpg * plane);
                var output = y.Slice((n * _group + grp) * _mpg * _pixels, _mpg * _pixels);
                ReadOnlySpan<float> columns = _direct ? input : Im2col(input);
                Float32Gemm.Rows(_wide, _weights.AsSpan(grp * _mpg * _taps, _mpg * _taps), _taps,
                    _bias.Length == 0 ? default : _bias.AsSpan(grp * _mpg, _mpg), columns, _stride, _pixels, output, 0, _mpg, _min, _max);
            }
        }
    }

    /// <summary>Row (c, kh, kw) of the columns holds, for every output pixel, the input value that tap reads (+0 in the padding).</summary>
    private float[] Im2col(ReadOnlySpan<float> input)
    {
        var g = _g;
        var columns = _columns;
        int row = 0;
        for (int c = 0; c < _cpg; c++)
        {
            var plane = input.Slice(c * g.H * g.W, g.H * g.W);
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                for (int kw = 0; kw < g.KernelW; kw++, row++)
                {
                    var dst = columns.AsSpan(row * _stride, _stride);
                    int p = 0;
                    for (int oh = 0; oh < g.OutH; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                        if (ih < 0 || ih >= g.H)
                        {
                            dst.Slice(p, g.OutW).Clear();
                            p += g.OutW;
                            continue;
                        }
                        var src = plane.Slice(ih * g.W, g.W);
                        int iw0 = -g.PadLeft + kw * g.DilationW;
                        if (g.StrideW == 1 && iw0 >= 0 && iw0 + g.OutW <= g.W)
                        {
                            src.Slice(iw0, g.OutW).CopyTo(dst.Slice(p, g.OutW));
                            p += g.OutW;
                            continue;
                        }
                        for (int ow = 0; ow < g.OutW; ow++, p++)
                        {
                            int iw = iw0 + ow * g.StrideW;
                            dst[p] = (uint)iw < (uint)g.W ? src[iw] : 0f;
                        }
                    }
                }
            }
        }
        return columns;
    }
}

/// <summary>Float32 Gemm: W packed transposed [K, N padded to 16] and the bias padded alike at creation, outputs 16 features at a time per row of A.</summary>
internal sealed class GemmFloat32Vector : OpKernel
{
    private readonly string _name;
    private readonly bool _wide;
    private readonly int _a, _y, _rows, _n, _k, _stride;
    private readonly float _min, _max;
    private readonly float[] _packed, _bias;

    public static bool CanHandle(KernelSetup s)
    {
        try
        {
            if (s.InputCount < 2 || s.OutputCount != 1 || !s.HasInput(0) || !s.HasInput(1)) return false;
            _ = new GemmKernels.GemmShape(s, DataType.Float32, DataType.Float32);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    public GemmFloat32Vector(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _wide = isa == Isa.Avx2;
        var shape = new GemmKernels.GemmShape(s, DataType.Float32, DataType.Float32);
        (_rows, _n, _k) = (shape.Rows, shape.N, shape.K);
        (_min, _max) = ConvKernels.ReadFloatClamp(s);
        _stride = Float32Gemm.PaddedPixels(_n);
        var w = s.ConstantInput<float>(1);
        _packed = new float[_k * _stride];
        for (int j = 0; j < _n; j++)
            for (int i = 0; i < _k; i++) _packed[i * _stride + j] = w[j * _k + i];
        // Padding lanes of the bias are 0 and never stored; without a bias every lane starts at +0 like the reference.
        _bias = new float[_stride];
        if (s.HasInput(2)) s.ConstantInput<float>(2).CopyTo(_bias);
        _a = s.InputId(0);
        _y = s.OutputId(0);
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var a = memory.Read<float>(_a);
        var y = memory.Write<float>(_y);
        // One row of A at a time, output features as lanes: y[j] = bias[j] + Σ_i A[r, i]·Wt[i, j], A's values broadcast.
        for (int r = 0; r < _rows; r++)
            Row(a.Slice(r * _k, _k), y.Slice(r * _n, _n));
    }

    private void Row(ReadOnlySpan<float> a, Span<float> y)
    {
        if (_wide) Row<Float256, Vector256<float>>(a, y);
        else Row<Float128, Vector128<float>>(a, y);
    }

    private void Row<TOps, TVec>(ReadOnlySpan<float> a, Span<float> y) where TOps : struct, IFloatVector<TVec> where TVec : struct
    {
        int lanes = TOps.Count;
        ref float wt = ref MemoryMarshal.GetArrayDataReference(_packed);
        ref float bias = ref MemoryMarshal.GetArrayDataReference(_bias);
        Span<float> tail = stackalloc float[2 * 8];
        var vmin = TOps.Splat(_min);
        var vmax = TOps.Splat(_max);
        for (int j = 0; j < _n; j += 2 * lanes)
        {
            var a0 = TOps.Load(ref bias, (nuint)j);
            var a1 = TOps.Load(ref bias, (nuint)(j + lanes));
            ref float col = ref Unsafe.Add(ref wt, j);
            for (int i = 0; i < _k; i++)
            {
                var b = TOps.Splat(a[i]);
                a0 = TOps.Add(a0, TOps.Multiply(b, TOps.Load(ref col, 0)));
                a1 = TOps.Add(a1, TOps.Multiply(b, TOps.Load(ref col, (nuint)lanes)));
                col = ref Unsafe.Add(ref col, _stride);
            }
            // _packed and _bias are padded to whole pairs of vectors; the row gets what is left of it.
            Float32Gemm.Store<TOps, TVec>(a0, a1, y, j, _n, vmin, vmax, tail);
        }
    }
}
