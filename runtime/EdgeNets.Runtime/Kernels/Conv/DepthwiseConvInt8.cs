using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 depthwise Conv (group == C == M): each channel's zero-bordered plane of x − zx (int16) is swept along output
/// rows, 16 (AVX2) or 8 (Vector128) pixels at a time, one int32 multiply-add per tap. Stride-1 rows are contiguous
/// loads; other strides take a scalar loop over the same bordered plane. Sums wrap in int32 like the reference's, and
/// padded taps read the border's zeros, which is what the reference's skipping amounts to.
/// <para>
/// Short rows (a 6-pixel row fills 6 of 16 lanes) run in plane mode: the outputs are computed at every position
/// q = oh·P + ow of a plane as wide as the bordered input (P = bordered width), so input tap (kh, kw) of q is at
/// stride·q + kh·P + kw and a vector covers several rows; the columns ow ≥ OutW are discarded when the rows are copied
/// out. Chosen when that takes fewer vector blocks than row by row (mostly stride 1).
/// </para>
/// </summary>
internal sealed class DepthwiseConvInt8 : OpKernel
{
    private readonly string _name;
    private readonly bool _wide;
    private readonly int _x, _y;
    private readonly Window2d _g;
    private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max, _paddedW, _paddedH, _pixels;
    private readonly int[] _multipliers, _shifts, _bias, _weights;
    private readonly short[] _padded;
    /// <summary>
    /// Stride-2 rows with pmaddwd (SSE2/AVX2): a load at input column 2·ow + kw holds, in each int16 pair, the columns
    /// of taps kw and kw + 1 of one output pixel, so one multiply-add by the pair's packed weights (w[kw], w[kw+1]) adds
    /// both taps for 4 or 8 pixels at once. Per channel, per kernel row, per tap pair: (w[kw] | w[kw+1] &lt;&lt; 16).
    /// </summary>
    private readonly int[] _pairWeights = [];
    private readonly int _pairs;
    private readonly bool _stride2Pairs;
    /// <summary>
    /// Stride-1 rows with the same pairs: loads at ow0 + kw and ow0 + kw + 1 give the even and the odd pixels of a
    /// block, which are interleaved back once the block's sums are complete.
    /// </summary>
    private readonly bool _stride1Pairs;
    /// <summary>Plane mode (see the class remarks): fewer vector blocks than row by row.</summary>
    private readonly bool _plane;
    /// <summary>Requantized outputs of one channel in plane mode, one bordered width per row, plus a vector of slack.</summary>
    private readonly sbyte[] _planeOut = [];
    /// <summary>AVX-512 requantization of each 16-pixel block (the multiply-adds stay 256-bit).</summary>
    private readonly bool _avx512;
    /// <summary>3x3, dilation 1, stride 1 or 2 (both directions) with AVX2: the unrolled <see cref="Channel3x3"/>.</summary>
    private readonly bool _kernel3x3;

    public DepthwiseConvInt8(KernelSetup s, bool wide, string name, bool avx512 = false)
    {
        _name = name;
        _wide = wide;
        _avx512 = avx512;
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        (_inputZeroPoint, _outputZeroPoint, _multipliers, _shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, shape.OutChannels);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        var g = _g = shape.Window;
        _bias = new int[shape.OutChannels];
        if (s.HasInput(2)) MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span).CopyTo(_bias);
        var weights = MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span);
        _weights = new int[weights.Length];
        for (int i = 0; i < weights.Length; i++) _weights[i] = weights[i];
        _paddedW = g.W + g.PadLeft + Math.Max(0, (g.OutW - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1 - g.W - g.PadLeft);
        _paddedH = g.H + g.PadTop + Math.Max(0, (g.OutH - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH + 1 - g.H - g.PadTop);
        _pixels = g.OutH * g.OutW;
        bool madd = wide ? Avx2.IsSupported : Sse2.IsSupported;
        _stride2Pairs = g.StrideW == 2 && g.DilationW == 1 && madd;
        _stride1Pairs = g.StrideW == 1 && g.DilationW == 1 && g.KernelW >= 2 && madd;
        if ((_stride1Pairs || _stride2Pairs) && g.StrideH == g.StrideW)
        {
            int lanes = wide ? 16 : 8;
            int positions = (g.OutH - 1) * _paddedW + g.OutW;
            if ((positions + lanes - 1) / lanes < g.OutH * ((g.OutW + lanes - 1) / lanes))
            {
                _plane = true;
                _planeOut = new sbyte[positions + 16];
            }
        }
        _kernel3x3 = wide && (_stride1Pairs || _stride2Pairs) && g.StrideH == g.StrideW && g.KernelH == 3 && g.KernelW == 3 && g.DilationH == 1;
        // Vector reads of a row (or of a plane's last block) may run up to 48 elements past its end.
        _padded = new short[g.C * _paddedW * _paddedH + 128];
        if (_stride2Pairs || _stride1Pairs)
        {
            _pairs = (g.KernelW + 1) / 2;
            _pairWeights = new int[g.C * g.KernelH * _pairs];
            for (int c = 0; c < g.C; c++)
                for (int kh = 0; kh < g.KernelH; kh++)
                    for (int q = 0; q < _pairs; q++)
                    {
                        int k = (c * g.KernelH + kh) * g.KernelW + 2 * q;
                        int w0 = weights[k], w1 = 2 * q + 1 < g.KernelW ? weights[k + 1] : 0;
                        _pairWeights[(c * g.KernelH + kh) * _pairs + q] = (ushort)(short)w0 | (ushort)(short)w1 << 16;
                    }
        }
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        var g = _g;
        int plane = _paddedW * _paddedH, kernelSize = g.KernelH * g.KernelW;
        Span<sbyte> tail = stackalloc sbyte[16];
        Span<int> sums = stackalloc int[16];
        ref short padded = ref MemoryMarshal.GetArrayDataReference(_padded);
        for (int n = 0; n < g.N; n++)
        {
            Int8Im2col.Border16(x.Slice(n * g.C * g.H * g.W, g.C * g.H * g.W), _padded, g, _paddedW, _paddedH, _inputZeroPoint);
            var output = y.Slice(n * g.C * _pixels, g.C * _pixels);
            var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, 0);
            for (int c = 0; c < g.C; c++)
            {
                int planeBase = c * plane, wBase = c * kernelSize;
                if (_kernel3x3)
                {
                    Channel3x3(c, ref padded, planeBase, output.Slice(c * _pixels), tail);
                    continue;
                }
                if (_plane)
                {
                    PlaneChannel(c, ref padded, planeBase, output.Slice(c * _pixels), tail);
                    continue;
                }
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    int rowBase = planeBase + oh * g.StrideH * _paddedW;
                    int p0 = oh * g.OutW;
                    if (_stride1Pairs)
                    {
                        ref int pairs = ref _pairWeights[c * g.KernelH * _pairs];
                        if (_wide)
                        {
                            for (int ow0 = 0; ow0 < g.OutW; ow0 += 16)
                            {
                                Vector256<int> even = default, odd = default;
                                for (int kh = 0; kh < g.KernelH; kh++)
                                {
                                    int rowStart = rowBase + kh * g.DilationH * _paddedW + ow0;
                                    for (int q = 0; q < _pairs; q++)
                                    {
                                        var w = Vector256.Create(Unsafe.Add(ref pairs, kh * _pairs + q)).AsInt16();
                                        even += Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref padded, (nuint)(rowStart + 2 * q)), w);
                                        odd += Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref padded, (nuint)(rowStart + 2 * q + 1)), w);
                                    }
                                }
                                // Per 128-bit lane: pixels 0-3 | 8-11 and 4-7 | 12-15, then the halves regrouped.
                                var lo = Avx2.UnpackLow(even, odd);
                                var hi = Avx2.UnpackHigh(even, odd);
                                if (_avx512)
                                    requant.Store16(Vector512.Create(Avx2.Permute2x128(lo, hi, 0x20), Avx2.Permute2x128(lo, hi, 0x31)), c, output, p0 + ow0,
                                        Math.Min(16, g.OutW - ow0), _pixels, g.C, tail);
                                else
                                    requant.Store16(Avx2.Permute2x128(lo, hi, 0x20), Avx2.Permute2x128(lo, hi, 0x31), c, output, p0 + ow0,
                                        Math.Min(16, g.OutW - ow0), _pixels, g.C, tail);
                            }
                        }
                        else
                        {
                            for (int ow0 = 0; ow0 < g.OutW; ow0 += 8)
                            {
                                Vector128<int> even = default, odd = default;
                                for (int kh = 0; kh < g.KernelH; kh++)
                                {
                                    int rowStart = rowBase + kh * g.DilationH * _paddedW + ow0;
                                    for (int q = 0; q < _pairs; q++)
                                    {
                                        var w = Vector128.Create(Unsafe.Add(ref pairs, kh * _pairs + q)).AsInt16();
                                        even += Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref padded, (nuint)(rowStart + 2 * q)), w);
                                        odd += Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref padded, (nuint)(rowStart + 2 * q + 1)), w);
                                    }
                                }
                                requant.Store8(Sse2.UnpackLow(even, odd), Sse2.UnpackHigh(even, odd), c, output, p0 + ow0, Math.Min(8, g.OutW - ow0), _pixels, g.C, tail);
                            }
                        }
                    }
                    else if (_stride2Pairs)
                    {
                        ref int pairs = ref _pairWeights[c * g.KernelH * _pairs];
                        if (_wide)
                        {
                            for (int ow0 = 0; ow0 < g.OutW; ow0 += 16)
                            {
                                Vector256<int> a0 = default, a1 = default;
                                for (int kh = 0; kh < g.KernelH; kh++)
                                {
                                    int rowStart = rowBase + kh * g.DilationH * _paddedW + 2 * ow0;
                                    for (int q = 0; q < _pairs; q++)
                                    {
                                        var w = Vector256.Create(Unsafe.Add(ref pairs, kh * _pairs + q)).AsInt16();
                                        a0 += Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref padded, (nuint)(rowStart + 2 * q)), w);
                                        a1 += Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref padded, (nuint)(rowStart + 2 * q + 16)), w);
                                    }
                                }
                                if (_avx512) requant.Store16(Vector512.Create(a0, a1), c, output, p0 + ow0, Math.Min(16, g.OutW - ow0), _pixels, g.C, tail);
                                else requant.Store16(a0, a1, c, output, p0 + ow0, Math.Min(16, g.OutW - ow0), _pixels, g.C, tail);
                            }
                        }
                        else
                        {
                            for (int ow0 = 0; ow0 < g.OutW; ow0 += 8)
                            {
                                Vector128<int> a0 = default, a1 = default;
                                for (int kh = 0; kh < g.KernelH; kh++)
                                {
                                    int rowStart = rowBase + kh * g.DilationH * _paddedW + 2 * ow0;
                                    for (int q = 0; q < _pairs; q++)
                                    {
                                        var w = Vector128.Create(Unsafe.Add(ref pairs, kh * _pairs + q)).AsInt16();
                                        a0 += Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref padded, (nuint)(rowStart + 2 * q)), w);
                                        a1 += Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref padded, (nuint)(rowStart + 2 * q + 8)), w);
                                    }
                                }
                                requant.Store8(a0, a1, c, output, p0 + ow0, Math.Min(8, g.OutW - ow0), _pixels, g.C, tail);
                            }
                        }
                    }
                    else if (g.StrideW != 1)
                    {
                        for (int ow0 = 0; ow0 < g.OutW; ow0 += 16)
                        {
                            int count = Math.Min(16, g.OutW - ow0);
                            sums.Clear();
                            for (int kh = 0; kh < g.KernelH; kh++)
                                for (int kw = 0; kw < g.KernelW; kw++)
                                {
                                    int w = _weights[wBase + kh * g.KernelW + kw];
                                    int src = rowBase + kh * g.DilationH * _paddedW + kw * g.DilationW + ow0 * g.StrideW;
                                    for (int i = 0; i < count; i++) sums[i] += w * Unsafe.Add(ref padded, src + i * g.StrideW);
                                }
                            if (_wide) requant.Store16(Vector256.Create((ReadOnlySpan<int>)sums), Vector256.Create((ReadOnlySpan<int>)sums.Slice(8)), c, output, p0 + ow0, count, _pixels, g.C, tail);
                            else
                            {
                                requant.Store8(Vector128.Create((ReadOnlySpan<int>)sums), Vector128.Create((ReadOnlySpan<int>)sums.Slice(4)), c, output, p0 + ow0, Math.Min(8, count), _pixels, g.C, tail);
                                if (count > 8)
                                    requant.Store8(Vector128.Create((ReadOnlySpan<int>)sums.Slice(8)), Vector128.Create((ReadOnlySpan<int>)sums.Slice(12)), c, output, p0 + ow0 + 8, count - 8, _pixels, g.C, tail);
                            }
                        }
                    }
                    else if (_wide)
                    {
                        for (int ow0 = 0; ow0 < g.OutW; ow0 += 16)
                        {
                            Vector256<int> a0 = default, a1 = default;
                            for (int kh = 0; kh < g.KernelH; kh++)
                                for (int kw = 0; kw < g.KernelW; kw++)
                                {
                                    var w = Vector256.Create(_weights[wBase + kh * g.KernelW + kw]);
                                    var v = Vector256.LoadUnsafe(ref padded, (nuint)(rowBase + kh * g.DilationH * _paddedW + kw * g.DilationW + ow0));
                                    a0 += Vector256.WidenLower(v) * w;
                                    a1 += Vector256.WidenUpper(v) * w;
                                }
                            requant.Store16(a0, a1, c, output, p0 + ow0, Math.Min(16, g.OutW - ow0), _pixels, g.C, tail);
                        }
                    }
                    else
                    {
                        for (int ow0 = 0; ow0 < g.OutW; ow0 += 8)
                        {
                            Vector128<int> a0 = default, a1 = default;
                            for (int kh = 0; kh < g.KernelH; kh++)
                                for (int kw = 0; kw < g.KernelW; kw++)
                                {
                                    var w = Vector128.Create(_weights[wBase + kh * g.KernelW + kw]);
                                    var v = Vector128.LoadUnsafe(ref padded, (nuint)(rowBase + kh * g.DilationH * _paddedW + kw * g.DilationW + ow0));
                                    a0 += Vector128.WidenLower(v) * w;
                                    a1 += Vector128.WidenUpper(v) * w;
                                }
                            requant.Store8(a0, a1, c, output, p0 + ow0, Math.Min(8, g.OutW - ow0), _pixels, g.C, tail);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// One channel of a 3x3 kernel (dilation 1, stride 1 or 2) with AVX2, row by row or in plane mode: the six packed
    /// weight pairs stay in registers and each 16-pixel block is 12 multiply-adds without loop overhead.
    /// </summary>
    private void Channel3x3(int c, ref short padded, int planeBase, Span<sbyte> output, Span<sbyte> tail)
    {
        var g = _g;
        var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, c);
        ref int pairs = ref _pairWeights[c * 6];
        var w00 = Vector256.Create(pairs).AsInt16();
        var w01 = Vector256.Create(Unsafe.Add(ref pairs, 1)).AsInt16();
        var w10 = Vector256.Create(Unsafe.Add(ref pairs, 2)).AsInt16();
        var w11 = Vector256.Create(Unsafe.Add(ref pairs, 3)).AsInt16();
        var w20 = Vector256.Create(Unsafe.Add(ref pairs, 4)).AsInt16();
        var w21 = Vector256.Create(Unsafe.Add(ref pairs, 5)).AsInt16();
        int pw = _paddedW, stride = g.StrideW;
        bool stride2 = stride == 2;
        // AVX-512: 32 outputs per block with 512-bit multiply-adds (half the instructions of two 16-output blocks); the
        // 16-output blocks finish what is left.
        Vector512<short> wide00 = default, wide01 = default, wide10 = default, wide11 = default, wide20 = default, wide21 = default;
        ChannelRescale512 rescale = default;
        if (_avx512)
        {
            wide00 = Vector512.Create(pairs).AsInt16();
            wide01 = Vector512.Create(Unsafe.Add(ref pairs, 1)).AsInt16();
            wide10 = Vector512.Create(Unsafe.Add(ref pairs, 2)).AsInt16();
            wide11 = Vector512.Create(Unsafe.Add(ref pairs, 3)).AsInt16();
            wide20 = Vector512.Create(Unsafe.Add(ref pairs, 4)).AsInt16();
            wide21 = Vector512.Create(Unsafe.Add(ref pairs, 5)).AsInt16();
            // The channel's requantization constants broadcast once, not per block (they measured most of the time here).
            rescale = new ChannelRescale512(_bias[c], _multipliers[c], _shifts[c], _outputZeroPoint, _min, _max);
        }
        if (_plane)
        {
            var planeOut = _planeOut.AsSpan();
            int positions = (g.OutH - 1) * pw + g.OutW;
            int q0 = 0;
            if (_avx512)
                for (; q0 + 32 <= positions; q0 += 32)
                {
                    var (lo, hi) = Block3x3x32(ref Unsafe.Add(ref padded, planeBase + stride * q0), (nuint)pw, stride2, wide00, wide01, wide10, wide11, wide20, wide21);
                    rescale.Apply(lo).StoreUnsafe(ref planeOut[q0]);
                    rescale.Apply(hi).StoreUnsafe(ref planeOut[q0 + 16]);
                }
            for (; q0 < positions; q0 += 16)
            {
                var (lo, hi) = Block3x3(ref Unsafe.Add(ref padded, planeBase + stride * q0), (nuint)pw, stride2, w00, w01, w10, w11, w20, w21);
                if (_avx512) rescale.Apply(Vector512.Create(lo, hi)).StoreUnsafe(ref planeOut[q0]);
                else requant.Store16(lo, hi, 0, planeOut, q0, 16, 0, 1, tail);
            }
            CopyRows(planeOut, pw, output, g.OutW, g.OutH);
            return;
        }
        for (int oh = 0; oh < g.OutH; oh++)
        {
            int rowBase = planeBase + oh * stride * pw;
            int ow0 = 0;
            if (_avx512)
                for (; ow0 + 32 <= g.OutW; ow0 += 32)
                {
                    var (lo, hi) = Block3x3x32(ref Unsafe.Add(ref padded, rowBase + stride * ow0), (nuint)pw, stride2, wide00, wide01, wide10, wide11, wide20, wide21);
                    rescale.Apply(lo).StoreUnsafe(ref output[oh * g.OutW + ow0]);
                    rescale.Apply(hi).StoreUnsafe(ref output[oh * g.OutW + ow0 + 16]);
                }
            for (; ow0 < g.OutW; ow0 += 16)
            {
                var (lo, hi) = Block3x3(ref Unsafe.Add(ref padded, rowBase + stride * ow0), (nuint)pw, stride2, w00, w01, w10, w11, w20, w21);
                int count = Math.Min(16, g.OutW - ow0);
                if (_avx512)
                {
                    var bytes = rescale.Apply(Vector512.Create(lo, hi));
                    if (count == 16) bytes.StoreUnsafe(ref output[oh * g.OutW + ow0]);
                    else
                        for (int i = 0; i < count; i++) output[oh * g.OutW + ow0 + i] = bytes.GetElement(i);
                }
                else requant.Store16(lo, hi, 0, output, oh * g.OutW + ow0, count, 0, 1, tail);
            }
        }
    }

    /// <summary>One channel's requantization (bias, multiplier, zero point, clamp) with its constants broadcast for AVX-512.</summary>
    private readonly struct ChannelRescale512
    {
        private readonly QuantizedMultiplier512 _multiplier;
        private readonly Vector512<int> _bias, _zero, _min, _max;

        public ChannelRescale512(int bias, int multiplier, int shift, int zero, int min, int max)
        {
            _multiplier = new QuantizedMultiplier512(multiplier, shift);
            _bias = Vector512.Create(bias);
            _zero = Vector512.Create(zero);
            _min = Vector512.Create(min);
            _max = Vector512.Create(max);
        }

        /// <summary>The reference's clamp(MBQM(sum + bias) + zero point) of 16 sums, as int8 (clamped, so the narrow is exact).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<sbyte> Apply(Vector512<int> sums) =>
            Avx512F.ConvertToVector128SByteWithSaturation(Vector512.Min(Vector512.Max(_multiplier.Apply(sums + _bias) + _zero, _min), _max));
    }

    /// <summary>
    /// Sums of 16 consecutive outputs of a 3x3 kernel whose first tap is at <paramref name="src"/>, in pixel order
    /// (Lo: the first 8). Stride 1: even and odd outputs from loads one element apart, interleaved back; stride 2: each
    /// load's int16 pairs are already one output's two taps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int> Lo, Vector256<int> Hi) Block3x3(ref short src, nuint pw, bool stride2, Vector256<short> w00, Vector256<short> w01,
        Vector256<short> w10, Vector256<short> w11, Vector256<short> w20, Vector256<short> w21)
    {
        ref short r1 = ref Unsafe.Add(ref src, pw);
        ref short r2 = ref Unsafe.Add(ref src, 2 * pw);
        if (stride2)
        {
            var lo = Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref src), w00) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref src, 2), w01)
                + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1), w10) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1, 2), w11)
                + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r2), w20) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r2, 2), w21);
            var hi = Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref src, 16), w00) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref src, 18), w01)
                + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1, 16), w10) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1, 18), w11)
                + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r2, 16), w20) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r2, 18), w21);
            return (lo, hi);
        }
        var even = Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref src), w00) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref src, 2), w01)
            + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1), w10) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1, 2), w11)
            + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r2), w20) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r2, 2), w21);
        var odd = Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref src, 1), w00) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref src, 3), w01)
            + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1, 1), w10) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1, 3), w11)
            + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r2, 1), w20) + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r2, 3), w21);
        // Per 128-bit lane: pixels 0-3 | 8-11 and 4-7 | 12-15, then the halves regrouped.
        var l = Avx2.UnpackLow(even, odd);
        var h = Avx2.UnpackHigh(even, odd);
        return (Avx2.Permute2x128(l, h, 0x20), Avx2.Permute2x128(l, h, 0x31));
    }

    /// <summary>
    /// <see cref="Block3x3"/> for 32 consecutive outputs with 512-bit multiply-adds (Lo: the first 16). Stride 1: the
    /// per-lane unpacks of the even and odd sums leave outputs 0-3 8-11 16-19 24-27 and 4-7 12-15 20-23 28-31; a
    /// two-source qword permute puts them in order. Requires AVX-512BW.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<int> Lo, Vector512<int> Hi) Block3x3x32(ref short src, nuint pw, bool stride2, Vector512<short> w00, Vector512<short> w01,
        Vector512<short> w10, Vector512<short> w11, Vector512<short> w20, Vector512<short> w21)
    {
        ref short r1 = ref Unsafe.Add(ref src, pw);
        ref short r2 = ref Unsafe.Add(ref src, 2 * pw);
        if (stride2)
        {
            var lo = Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref src), w00) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref src, 2), w01)
                + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1), w10) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1, 2), w11)
                + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r2), w20) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r2, 2), w21);
            var hi = Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref src, 32), w00) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref src, 34), w01)
                + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1, 32), w10) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1, 34), w11)
                + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r2, 32), w20) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r2, 34), w21);
            return (lo, hi);
        }
        var even = Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref src), w00) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref src, 2), w01)
            + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1), w10) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1, 2), w11)
            + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r2), w20) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r2, 2), w21);
        var odd = Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref src, 1), w00) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref src, 3), w01)
            + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1, 1), w10) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1, 3), w11)
            + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r2, 1), w20) + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r2, 3), w21);
        var l = Avx512F.UnpackLow(even, odd).AsInt64();
        var h = Avx512F.UnpackHigh(even, odd).AsInt64();
        return (Avx512F.PermuteVar8x64x2(l, Vector512.Create(0L, 1, 8, 9, 2, 3, 10, 11), h).AsInt32(),
            Avx512F.PermuteVar8x64x2(l, Vector512.Create(4L, 5, 12, 13, 6, 7, 14, 15), h).AsInt32());
    }

    /// <summary>One channel in plane mode: every position of the plane, then the OutW valid columns of each row copied out.</summary>
    private void PlaneChannel(int c, ref short padded, int planeBase, Span<sbyte> output, Span<sbyte> tail)
    {
        var g = _g;
        // Up to the last row's last valid column: the blocks' reads then stay within 48 elements past the plane.
        int pw = _paddedW, positions = (g.OutH - 1) * pw + g.OutW, rowStep = g.DilationH * pw;
        var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, c);
        var planeOut = _planeOut.AsSpan();
        ref int pairs = ref _pairWeights[c * g.KernelH * _pairs];
        if (_wide)
        {
            for (int q0 = 0; q0 < positions; q0 += 16)
            {
                Vector256<int> lo, hi;
                if (_stride1Pairs)
                {
                    Vector256<int> even = default, odd = default;
                    for (int kh = 0; kh < g.KernelH; kh++)
                    {
                        int start = planeBase + q0 + kh * rowStep;
                        for (int q = 0; q < _pairs; q++)
                        {
                            var w = Vector256.Create(Unsafe.Add(ref pairs, kh * _pairs + q)).AsInt16();
                            even += Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref padded, (nuint)(start + 2 * q)), w);
                            odd += Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref padded, (nuint)(start + 2 * q + 1)), w);
                        }
                    }
                    var l = Avx2.UnpackLow(even, odd);
                    var h = Avx2.UnpackHigh(even, odd);
                    lo = Avx2.Permute2x128(l, h, 0x20);
                    hi = Avx2.Permute2x128(l, h, 0x31);
                }
                else
                {
                    lo = default;
                    hi = default;
                    for (int kh = 0; kh < g.KernelH; kh++)
                    {
                        int start = planeBase + 2 * q0 + kh * rowStep;
                        for (int q = 0; q < _pairs; q++)
                        {
                            var w = Vector256.Create(Unsafe.Add(ref pairs, kh * _pairs + q)).AsInt16();
                            lo += Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref padded, (nuint)(start + 2 * q)), w);
                            hi += Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref padded, (nuint)(start + 2 * q + 16)), w);
                        }
                    }
                }
                if (_avx512) requant.Store16(Vector512.Create(lo, hi), 0, planeOut, q0, 16, 0, 1, tail);
                else requant.Store16(lo, hi, 0, planeOut, q0, 16, 0, 1, tail);
            }
        }
        else
        {
            for (int q0 = 0; q0 < positions; q0 += 8)
            {
                Vector128<int> lo = default, hi = default;
                if (_stride1Pairs)
                {
                    Vector128<int> even = default, odd = default;
                    for (int kh = 0; kh < g.KernelH; kh++)
                    {
                        int start = planeBase + q0 + kh * rowStep;
                        for (int q = 0; q < _pairs; q++)
                        {
                            var w = Vector128.Create(Unsafe.Add(ref pairs, kh * _pairs + q)).AsInt16();
                            even += Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref padded, (nuint)(start + 2 * q)), w);
                            odd += Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref padded, (nuint)(start + 2 * q + 1)), w);
                        }
                    }
                    lo = Sse2.UnpackLow(even, odd);
                    hi = Sse2.UnpackHigh(even, odd);
                }
                else
                {
                    for (int kh = 0; kh < g.KernelH; kh++)
                    {
                        int start = planeBase + 2 * q0 + kh * rowStep;
                        for (int q = 0; q < _pairs; q++)
                        {
                            var w = Vector128.Create(Unsafe.Add(ref pairs, kh * _pairs + q)).AsInt16();
                            lo += Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref padded, (nuint)(start + 2 * q)), w);
                            hi += Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref padded, (nuint)(start + 2 * q + 8)), w);
                        }
                    }
                }
                requant.Store8(lo, hi, 0, planeOut, q0, 8, 0, 1, tail);
            }
        }
        CopyRows(planeOut, pw, output, g.OutW, g.OutH);
    }

    /// <summary>
    /// Copies rows of <paramref name="width"/> bytes, <paramref name="sourceStride"/> apart, into consecutive rows of
    /// <paramref name="destination"/>. Rows shorter than 16 bytes are written as 16 whenever the destination has the
    /// room: the excess lands on later rows (or later channels), which are written afterwards.
    /// </summary>
    private static void CopyRows(ReadOnlySpan<sbyte> source, int sourceStride, Span<sbyte> destination, int width, int rows)
    {
        ref sbyte src = ref MemoryMarshal.GetReference(source);
        ref sbyte dst = ref MemoryMarshal.GetReference(destination);
        for (int r = 0; r < rows; r++)
        {
            ref sbyte s = ref Unsafe.Add(ref src, r * sourceStride);
            ref sbyte d = ref Unsafe.Add(ref dst, r * width);
            if (width >= 16)
            {
                // Whole vectors, the last one overlapping its predecessor.
                for (int i = 0; i < width - 16; i += 16) Vector128.LoadUnsafe(ref s, (nuint)i).StoreUnsafe(ref d, (nuint)i);
                Vector128.LoadUnsafe(ref s, (nuint)(width - 16)).StoreUnsafe(ref d, (nuint)(width - 16));
            }
            else if (r * width + 16 <= destination.Length) Vector128.LoadUnsafe(ref s).StoreUnsafe(ref d);
            else
                for (int i = 0; i < width; i++) Unsafe.Add(ref d, i) = Unsafe.Add(ref s, i);
        }
    }
}

/// <summary>
/// Int8 depthwise Conv for AArch64 NEON (ARMv8.0: no dot product needed), one channel at a time, 16 output pixels per
/// block. The raw int8 inputs are multiplied by the int8 weights with SMULL/SMLAL (8 products per instruction, two taps
/// summed in int16) and the pair sums widened into int32 with SADDW; the input zero point is folded into the bias,
/// Σ (x − zx)·w = Σ x·w − zx·Σ w (all int32 arithmetic wraps, as the reference's does). Padding reads the zero point.
/// <para>
/// Each channel is copied into a zx-bordered buffer split into stride phases: phase (a, b) holds the bordered input
/// at rows sh·i + a and columns sw·j + b (stride 2 columns deinterleaved by LD2), so every tap of output (oh, ow) sits
/// at a fixed offset from position q = oh·P + ow (P: the phase width) and consecutive outputs read consecutive bytes,
/// stride 1 or 2 alike. Blocks run along the positions of whole rows (rows of 16 pixels or more) or along the whole
/// plane, the columns past OutW being discarded when the rows are copied out, whichever takes fewer blocks.
/// </para>
/// <para>
/// The sum of two int8 products fits int16 unless both weights are -128: x·w lies in [-16256, 16256] for w ≥ -127 and
/// in [-16256, 16384] for w = -128, so two products stay within ±32640, except -128·-128 twice (32768). Taps are summed
/// in pairs only in channels where no pair has two weights of -128, the others add every product on its own.
/// Quantized models' symmetric weights never hold -128.
/// </para>
/// <para>
/// With SDOT (Cortex-A76), 3x3 stride-1 kernels take <see cref="Channel3x3Dot"/> instead: 4 products per int32 lane.
/// </para>
/// </summary>
internal sealed class DepthwiseConvInt8AdvSimd : OpKernel
{
    private readonly string _name;
    private readonly int _x, _y;
    private readonly Window2d _g;
    private readonly int _zeroPoint, _min, _max, _pixels, _taps;
    private readonly sbyte _inputZeroPoint;
    private readonly int[] _multipliers, _shifts;
    /// <summary>Bias − zx·Σ w per channel.</summary>
    private readonly int[] _bias;
    /// <summary>Per channel, per tap (kh, kw).</summary>
    private readonly sbyte[] _weights;
    /// <summary>Offset of each tap from position q in the channel buffer.</summary>
    private readonly int[] _tapOffsets;
    /// <summary>Per channel: no two consecutive taps (2t, 2t + 1) both have weight -128, so pairs may sum in int16.</summary>
    private readonly bool[] _pairs;
    /// <summary>Phase width P, phase height, bytes per phase (with slack for the copy's row-end stores).</summary>
    private readonly int _phaseW, _phaseH, _phaseSize;
    /// <summary>One channel's bordered phases; the border cells hold the zero point and are never changed.</summary>
    private readonly sbyte[] _buffer;
    /// <summary>Per input row, where its first cell goes in <see cref="_buffer"/> (stride 2 columns: of the even, then of the odd columns).</summary>
    private readonly int[] _rowOffsets;
    private readonly bool _rowMode;
    /// <summary>3x3, stride 1, dilation 1 on a CPU with SDOT (Cortex-A76): <see cref="Channel3x3Dot"/>.</summary>
    private readonly bool _dot3x3;
    /// <summary>Per channel, per kernel row: (w0, w1, w2, 0) repeated over the 4 int32 lanes, for SDOT.</summary>
    private readonly sbyte[] _dotWeights = [];
    /// <summary>Plane mode: one channel's outputs at every position, copied out row by row.</summary>
    private readonly sbyte[] _planeOut = [];

    public static bool CanHandle(KernelSetup s)
    {
        if (!ConvInt8Gemm.CanHandle(s, depthwise: true)) return false;
        var g = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32).Window;
        return g.StrideH <= 2 && g.StrideW <= 2;
    }

    public DepthwiseConvInt8AdvSimd(KernelSetup s, string name)
    {
        _name = name;
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        int zx;
        (zx, _zeroPoint, _multipliers, _shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, shape.OutChannels);
        _inputZeroPoint = (sbyte)zx;
        _x = s.InputId(0);
        _y = s.OutputId(0);
        var g = _g = shape.Window;
        _pixels = g.OutH * g.OutW;
        _taps = g.KernelH * g.KernelW;
        var weights = MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span);
        _weights = weights.ToArray();
        _bias = new int[g.C];
        if (s.HasInput(2)) MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span).CopyTo(_bias);
        _pairs = new bool[g.C];
        for (int c = 0; c < g.C; c++)
        {
            int sum = 0;
            bool pairs = true;
            for (int t = 0; t < _taps; t++)
            {
                sum += weights[c * _taps + t];
                if (t % 2 == 1 && weights[c * _taps + t] == -128 && weights[c * _taps + t - 1] == -128) pairs = false;
            }
            _bias[c] = unchecked(_bias[c] - zx * sum);
            _pairs[c] = pairs;
        }

        int paddedW = g.W + g.PadLeft + Math.Max(0, (g.OutW - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1 - g.W - g.PadLeft);
        int paddedH = g.H + g.PadTop + Math.Max(0, (g.OutH - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH + 1 - g.H - g.PadTop);
        _phaseW = (paddedW + g.StrideW - 1) / g.StrideW;
        _phaseH = (paddedH + g.StrideH - 1) / g.StrideH;
        // The copy's last store of a row may reach 16 bytes past the row's last cell.
        _phaseSize = _phaseW * _phaseH + 32;
        _tapOffsets = new int[_taps];
        int maxOffset = 0;
        for (int kh = 0; kh < g.KernelH; kh++)
            for (int kw = 0; kw < g.KernelW; kw++)
            {
                int rows = kh * g.DilationH, cols = kw * g.DilationW;
                int phase = rows % g.StrideH * g.StrideW + cols % g.StrideW;
                int offset = phase * _phaseSize + rows / g.StrideH * _phaseW + cols / g.StrideW;
                _tapOffsets[kh * g.KernelW + kw] = offset;
                maxOffset = Math.Max(maxOffset, offset);
            }

        _rowOffsets = new int[g.StrideW * g.H];
        for (int h = 0; h < g.H; h++)
        {
            int row = h + g.PadTop;
            int rowBase = row % g.StrideH * g.StrideW * _phaseSize + row / g.StrideH * _phaseW;
            // Input column u (0 or 1, then every StrideW-th) lands in phase (PadLeft + u) % StrideW at column (PadLeft + u) / StrideW.
            for (int u = 0; u < g.StrideW; u++)
                _rowOffsets[g.StrideW * h + u] = rowBase + (g.PadLeft + u) % g.StrideW * _phaseSize + (g.PadLeft + u) / g.StrideW;
        }

        _dot3x3 = Dp.IsSupported && g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1;
        if (_dot3x3)
        {
            _dotWeights = new sbyte[g.C * 3 * 16];
            for (int c = 0; c < g.C; c++)
                for (int kh = 0; kh < 3; kh++)
                    for (int lane = 0; lane < 4; lane++)
                        for (int kw = 0; kw < 3; kw++)
                            _dotWeights[(c * 3 + kh) * 16 + 4 * lane + kw] = weights[c * 9 + kh * 3 + kw];
        }

        int positions = (g.OutH - 1) * _phaseW + g.OutW;
        int planeBlocks = (positions + 15) / 16, rowBlocks = g.OutH * ((g.OutW + 15) / 16);
        _rowMode = g.OutW >= 16 && rowBlocks <= planeBlocks;
        if (!_rowMode) _planeOut = new sbyte[planeBlocks * 16 + 16];
        // Blocks read 16 bytes from each tap's offset up to the last block's end (SDOT: 32 from each kernel row's start).
        int reach = Math.Max(planeBlocks * 16, (g.OutH - 1) * _phaseW + g.OutW + 16) + maxOffset + 32;
        _buffer = new sbyte[Math.Max(g.StrideH * g.StrideW * _phaseSize, reach) + 16];
        Array.Fill(_buffer, (sbyte)zx);
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        var g = _g;
        int image = g.H * g.W;
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
            {
                int plane = (n * g.C + c) * image;
                CopyChannel(x, plane);
                // To the end of the tensor: plane mode copies short rows out as whole vectors, and the excess past this
                // channel lands on the next one, written afterwards.
                var output = y.Slice(plane / image * _pixels);
                if (_dot3x3) Channel3x3Dot(c, output);
                else if (_taps == 9 && _pairs[c]) Channel9(c, output);
                else ChannelTaps(c, output);
            }
    }

    /// <summary>
    /// Copies one input plane into the phases of <see cref="_buffer"/>. Rows of 16 (stride 2: 32) bytes or more end with
    /// a vector that overlaps its predecessor; a shorter row is one vector that writes past the row, and the zero point
    /// stored right after the row restores those border cells (cells of later rows are written afterwards).
    /// </summary>
    private void CopyChannel(ReadOnlySpan<sbyte> x, int plane)
    {
        int width = _g.W, height = _g.H;
        ref sbyte src = ref Unsafe.Add(ref MemoryMarshal.GetReference(x), plane);
        // Bytes readable from the row start: a short row's vector may read past the row, not past the tensor.
        int room = x.Length - plane;
        ref sbyte buffer = ref MemoryMarshal.GetArrayDataReference(_buffer);
        ref int rowOffsets = ref MemoryMarshal.GetArrayDataReference(_rowOffsets);
        var zx = Vector128.Create(_inputZeroPoint);
        if (_g.StrideW == 1)
        {
            if (width >= 16)
            {
                for (int h = 0; h < height; h++, src = ref Unsafe.Add(ref src, width))
                {
                    ref sbyte dst = ref Unsafe.Add(ref buffer, Unsafe.Add(ref rowOffsets, h));
                    for (int i = 0; i < width - 16; i += 16) Vector128.LoadUnsafe(ref src, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
                    Vector128.LoadUnsafe(ref src, (nuint)(width - 16)).StoreUnsafe(ref dst, (nuint)(width - 16));
                }
                return;
            }
            // Rows h with h·width + 16 ≤ room: all but possibly the last few of the tensor.
            int whole = room < 16 ? 0 : Math.Min(height, (room - 16) / width + 1);
            int row = 0;
            for (; row < whole; row++, src = ref Unsafe.Add(ref src, width))
            {
                ref sbyte dst = ref Unsafe.Add(ref buffer, Unsafe.Add(ref rowOffsets, row));
                Vector128.LoadUnsafe(ref src).StoreUnsafe(ref dst);
                zx.StoreUnsafe(ref dst, (nuint)width);
            }
            for (; row < height; row++, src = ref Unsafe.Add(ref src, width))
            {
                ref sbyte dst = ref Unsafe.Add(ref buffer, Unsafe.Add(ref rowOffsets, row));
                for (int i = 0; i < width; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
            }
            return;
        }
        int evens = (width + 1) / 2, odds = width / 2;
        if (width >= 32)
        {
            // The last 32 columns from an even one: for an odd width that ends a column early, then the last one.
            int last = (width - 32) / 2;
            for (int h = 0; h < height; h++, src = ref Unsafe.Add(ref src, width))
            {
                // Input columns 2t land at even[t], columns 2t + 1 at odd[t].
                ref sbyte even = ref Unsafe.Add(ref buffer, Unsafe.Add(ref rowOffsets, 2 * h));
                ref sbyte odd = ref Unsafe.Add(ref buffer, Unsafe.Add(ref rowOffsets, 2 * h + 1));
                for (int t = 0; 2 * t < width - 32; t += 16)
                {
                    var (e, o) = LoadUnzip(ref Unsafe.Add(ref src, 2 * t));
                    e.StoreUnsafe(ref even, (nuint)t);
                    o.StoreUnsafe(ref odd, (nuint)t);
                }
                var (le, lo) = LoadUnzip(ref Unsafe.Add(ref src, 2 * last));
                le.StoreUnsafe(ref even, (nuint)last);
                lo.StoreUnsafe(ref odd, (nuint)last);
                if (width % 2 == 1) Unsafe.Add(ref even, evens - 1) = Unsafe.Add(ref src, width - 1);
            }
            return;
        }
        int wholePairs = room < 32 ? 0 : Math.Min(height, (room - 32) / width + 1);
        int h2 = 0;
        for (; h2 < wholePairs; h2++, src = ref Unsafe.Add(ref src, width))
        {
            ref sbyte even = ref Unsafe.Add(ref buffer, Unsafe.Add(ref rowOffsets, 2 * h2));
            ref sbyte odd = ref Unsafe.Add(ref buffer, Unsafe.Add(ref rowOffsets, 2 * h2 + 1));
            var (e, o) = LoadUnzip(ref src);
            e.StoreUnsafe(ref even);
            o.StoreUnsafe(ref odd);
            zx.StoreUnsafe(ref even, (nuint)evens);
            zx.StoreUnsafe(ref odd, (nuint)odds);
        }
        for (; h2 < height; h2++, src = ref Unsafe.Add(ref src, width))
        {
            ref sbyte even = ref Unsafe.Add(ref buffer, Unsafe.Add(ref rowOffsets, 2 * h2));
            ref sbyte odd = ref Unsafe.Add(ref buffer, Unsafe.Add(ref rowOffsets, 2 * h2 + 1));
            for (int i = 0; i < width; i++) Unsafe.Add(ref i % 2 == 0 ? ref even : ref odd, i / 2) = Unsafe.Add(ref src, i);
        }
    }

    /// <summary>
    /// Copies the OutW valid outputs of each plane-mode row (<paramref name="sourceStride"/> apart) into consecutive rows
    /// of <paramref name="destination"/>; a row shorter than 16 is written as one vector wherever the destination has
    /// the room (the excess lands on later rows, written afterwards).
    /// </summary>
    private static void CopyOut(ref sbyte source, int sourceStride, Span<sbyte> destination, int width, int rows)
    {
        ref sbyte dst = ref MemoryMarshal.GetReference(destination);
        if (width >= 16)
        {
            for (int r = 0; r < rows; r++, source = ref Unsafe.Add(ref source, sourceStride), dst = ref Unsafe.Add(ref dst, width))
            {
                for (int i = 0; i < width - 16; i += 16) Vector128.LoadUnsafe(ref source, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
                Vector128.LoadUnsafe(ref source, (nuint)(width - 16)).StoreUnsafe(ref dst, (nuint)(width - 16));
            }
            return;
        }
        // Rows r with r·width + 16 ≤ length take a whole vector.
        int whole = destination.Length < 16 ? 0 : Math.Min(rows, (destination.Length - 16) / width + 1);
        int row = 0;
        for (; row < whole; row++, source = ref Unsafe.Add(ref source, sourceStride), dst = ref Unsafe.Add(ref dst, width))
            Vector128.LoadUnsafe(ref source).StoreUnsafe(ref dst);
        for (; row < rows; row++, source = ref Unsafe.Add(ref source, sourceStride), dst = ref Unsafe.Add(ref dst, width))
            for (int i = 0; i < width; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref source, i);
    }

    /// <summary>32 bytes deinterleaved: the even-indexed and the odd-indexed ones (LD2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector128<sbyte> Even, Vector128<sbyte> Odd) LoadUnzip(ref sbyte source)
    {
        fixed (sbyte* p = &source) return AdvSimd.Arm64.Load2xVector128AndUnzip(p);
    }

    /// <summary>
    /// A 9-tap kernel (3x3 of any dilation, or 9x1, 1x9) in a channel whose taps may pair: the weights stay in registers
    /// and a block of 16 outputs is 18 loads, 18 multiplies and 20 widening adds before the requantization.
    /// </summary>
    private void Channel9(int c, Span<sbyte> output)
    {
        ref sbyte w = ref _weights[c * 9];
        var w0 = Vector64.Create(w);
        var w1 = Vector64.Create(Unsafe.Add(ref w, 1));
        var w2 = Vector64.Create(Unsafe.Add(ref w, 2));
        var w3 = Vector64.Create(Unsafe.Add(ref w, 3));
        var w4 = Vector64.Create(Unsafe.Add(ref w, 4));
        var w5 = Vector64.Create(Unsafe.Add(ref w, 5));
        var w6 = Vector64.Create(Unsafe.Add(ref w, 6));
        var w7 = Vector64.Create(Unsafe.Add(ref w, 7));
        var w8 = Vector64.Create(Unsafe.Add(ref w, 8));
        ref int offsets = ref _tapOffsets[0];
        nuint o0 = (nuint)offsets, o1 = (nuint)Unsafe.Add(ref offsets, 1), o2 = (nuint)Unsafe.Add(ref offsets, 2);
        nuint o3 = (nuint)Unsafe.Add(ref offsets, 3), o4 = (nuint)Unsafe.Add(ref offsets, 4), o5 = (nuint)Unsafe.Add(ref offsets, 5);
        nuint o6 = (nuint)Unsafe.Add(ref offsets, 6), o7 = (nuint)Unsafe.Add(ref offsets, 7), o8 = (nuint)Unsafe.Add(ref offsets, 8);
        var bias = Vector128.Create(_bias[c]);
        var multiplier = Vector128.Create(_multipliers[c]);
        int shift = _shifts[c];
        var shiftVector = Vector128.Create(shift);
        var zero = Vector128.Create(_zeroPoint);
        var min = Vector128.Create((sbyte)_min);
        var max = Vector128.Create((sbyte)_max);
        var g = _g;
        bool rowMode = _rowMode;
        int rows = rowMode ? g.OutH : 1, cols = rowMode ? g.OutW : (g.OutH - 1) * _phaseW + g.OutW;
        int sourceStride = rowMode ? _phaseW : 0, destinationStride = rowMode ? g.OutW : 0;
        ref sbyte buffer = ref MemoryMarshal.GetArrayDataReference(_buffer);
        ref sbyte destination = ref rowMode ? ref MemoryMarshal.GetReference(output) : ref MemoryMarshal.GetArrayDataReference(_planeOut);
        for (int r = 0; r < rows; r++)
            for (int col = 0; col < cols; col += 16)
            {
                // Row mode: a row's last block overlaps its predecessor rather than running past the row.
                int b = rowMode ? Math.Min(col, cols - 16) : col;
                // Pixels 0-7 from s, 8-15 from s8: 64-bit loads, so no product needs the upper half of a register.
                ref sbyte s = ref Unsafe.Add(ref buffer, r * sourceStride + b);
                ref sbyte s8 = ref Unsafe.Add(ref s, 8);
                var sums = new Sums16(bias)
                    .Add(Vector64.LoadUnsafe(ref s, o0), Vector64.LoadUnsafe(ref s8, o0), w0, Vector64.LoadUnsafe(ref s, o1), Vector64.LoadUnsafe(ref s8, o1), w1)
                    .Add(Vector64.LoadUnsafe(ref s, o2), Vector64.LoadUnsafe(ref s8, o2), w2, Vector64.LoadUnsafe(ref s, o3), Vector64.LoadUnsafe(ref s8, o3), w3)
                    .Add(Vector64.LoadUnsafe(ref s, o4), Vector64.LoadUnsafe(ref s8, o4), w4, Vector64.LoadUnsafe(ref s, o5), Vector64.LoadUnsafe(ref s8, o5), w5)
                    .Add(Vector64.LoadUnsafe(ref s, o6), Vector64.LoadUnsafe(ref s8, o6), w6, Vector64.LoadUnsafe(ref s, o7), Vector64.LoadUnsafe(ref s8, o7), w7)
                    .Add(Vector64.LoadUnsafe(ref s, o8), Vector64.LoadUnsafe(ref s8, o8), w8);
                Requantize(sums, multiplier, shiftVector, shift, zero, min, max).StoreUnsafe(ref destination, (nuint)(r * destinationStride + b));
            }
        if (!rowMode) CopyOut(ref MemoryMarshal.GetArrayDataReference(_planeOut), _phaseW, output, g.OutW, g.OutH);
    }

    /// <summary>
    /// 3x3, stride 1, dilation 1 with SDOT (4 int8 products per int32 lane): per kernel row, a 32-byte window and four
    /// table lookups give each lane the row's three inputs of one output pixel (and a fourth, against weight 0), so a
    /// block of 16 outputs is 12 lookups and 12 SDOTs. Exact in int32 for any weights.
    /// </summary>
    private unsafe void Channel3x3Dot(int c, Span<sbyte> output)
    {
        ref sbyte w = ref _dotWeights[c * 48];
        var w0 = Vector128.LoadUnsafe(ref w);
        var w1 = Vector128.LoadUnsafe(ref w, 16);
        var w2 = Vector128.LoadUnsafe(ref w, 32);
        // Lane j of pixel group g reads window bytes 4g + j .. 4g + j + 3.
        var i0 = Vector128.Create((sbyte)0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6);
        var i1 = i0 + Vector128.Create((sbyte)4);
        var i2 = i0 + Vector128.Create((sbyte)8);
        var i3 = i0 + Vector128.Create((sbyte)12);
        var bias = Vector128.Create(_bias[c]);
        var multiplier = Vector128.Create(_multipliers[c]);
        int shift = _shifts[c];
        var shiftVector = Vector128.Create(shift);
        var zero = Vector128.Create(_zeroPoint);
        var min = Vector128.Create((sbyte)_min);
        var max = Vector128.Create((sbyte)_max);
        var g = _g;
        bool rowMode = _rowMode;
        int pw = _phaseW;
        int rows = rowMode ? g.OutH : 1, cols = rowMode ? g.OutW : (g.OutH - 1) * pw + g.OutW;
        int sourceStride = rowMode ? pw : 0, destinationStride = rowMode ? g.OutW : 0;
        ref sbyte destination = ref rowMode ? ref MemoryMarshal.GetReference(output) : ref MemoryMarshal.GetArrayDataReference(_planeOut);
        fixed (sbyte* buffer = _buffer)
        {
            for (int r = 0; r < rows; r++)
                for (int col = 0; col < cols; col += 16)
                {
                    int b = rowMode ? Math.Min(col, cols - 16) : col;
                    sbyte* s = buffer + r * sourceStride + b;
                    Vector128<int> a0 = bias, a1 = bias, a2 = bias, a3 = bias;
                    var t = AdvSimd.Arm64.LoadPairVector128(s);
                    a0 = Dp.DotProduct(a0, AdvSimd.Arm64.VectorTableLookup(t, i0), w0);
                    a1 = Dp.DotProduct(a1, AdvSimd.Arm64.VectorTableLookup(t, i1), w0);
                    a2 = Dp.DotProduct(a2, AdvSimd.Arm64.VectorTableLookup(t, i2), w0);
                    a3 = Dp.DotProduct(a3, AdvSimd.Arm64.VectorTableLookup(t, i3), w0);
                    t = AdvSimd.Arm64.LoadPairVector128(s + pw);
                    a0 = Dp.DotProduct(a0, AdvSimd.Arm64.VectorTableLookup(t, i0), w1);
                    a1 = Dp.DotProduct(a1, AdvSimd.Arm64.VectorTableLookup(t, i1), w1);
                    a2 = Dp.DotProduct(a2, AdvSimd.Arm64.VectorTableLookup(t, i2), w1);
                    a3 = Dp.DotProduct(a3, AdvSimd.Arm64.VectorTableLookup(t, i3), w1);
                    t = AdvSimd.Arm64.LoadPairVector128(s + 2 * pw);
                    a0 = Dp.DotProduct(a0, AdvSimd.Arm64.VectorTableLookup(t, i0), w2);
                    a1 = Dp.DotProduct(a1, AdvSimd.Arm64.VectorTableLookup(t, i1), w2);
                    a2 = Dp.DotProduct(a2, AdvSimd.Arm64.VectorTableLookup(t, i2), w2);
                    a3 = Dp.DotProduct(a3, AdvSimd.Arm64.VectorTableLookup(t, i3), w2);
                    Requantize(new Sums16(a0, a1, a2, a3), multiplier, shiftVector, shift, zero, min, max)
                        .StoreUnsafe(ref destination, (nuint)(r * destinationStride + b));
                }
        }
        if (!rowMode) CopyOut(ref MemoryMarshal.GetArrayDataReference(_planeOut), pw, output, g.OutW, g.OutH);
    }

    /// <summary>Any kernel, or a channel whose taps may not pair: the taps in a loop, two at a time where they may.</summary>
    private void ChannelTaps(int c, Span<sbyte> output)
    {
        int taps = _taps;
        bool pairs = _pairs[c];
        ref sbyte w = ref _weights[c * taps];
        ref int offsets = ref _tapOffsets[0];
        var bias = Vector128.Create(_bias[c]);
        var multiplier = Vector128.Create(_multipliers[c]);
        int shift = _shifts[c];
        var shiftVector = Vector128.Create(shift);
        var zero = Vector128.Create(_zeroPoint);
        var min = Vector128.Create((sbyte)_min);
        var max = Vector128.Create((sbyte)_max);
        var g = _g;
        bool rowMode = _rowMode;
        int rows = rowMode ? g.OutH : 1, cols = rowMode ? g.OutW : (g.OutH - 1) * _phaseW + g.OutW;
        int sourceStride = rowMode ? _phaseW : 0, destinationStride = rowMode ? g.OutW : 0;
        ref sbyte buffer = ref MemoryMarshal.GetArrayDataReference(_buffer);
        ref sbyte destination = ref rowMode ? ref MemoryMarshal.GetReference(output) : ref MemoryMarshal.GetArrayDataReference(_planeOut);
        for (int r = 0; r < rows; r++)
            for (int col = 0; col < cols; col += 16)
            {
                int b = rowMode ? Math.Min(col, cols - 16) : col;
                ref sbyte s = ref Unsafe.Add(ref buffer, r * sourceStride + b);
                ref sbyte s8 = ref Unsafe.Add(ref s, 8);
                var sums = new Sums16(bias);
                int t = 0;
                if (pairs)
                    for (; t + 2 <= taps; t += 2)
                    {
                        nuint oa = (nuint)Unsafe.Add(ref offsets, t), ob = (nuint)Unsafe.Add(ref offsets, t + 1);
                        sums = sums.Add(Vector64.LoadUnsafe(ref s, oa), Vector64.LoadUnsafe(ref s8, oa), Vector64.Create(Unsafe.Add(ref w, t)),
                            Vector64.LoadUnsafe(ref s, ob), Vector64.LoadUnsafe(ref s8, ob), Vector64.Create(Unsafe.Add(ref w, t + 1)));
                    }
                for (; t < taps; t++)
                {
                    nuint o = (nuint)Unsafe.Add(ref offsets, t);
                    sums = sums.Add(Vector64.LoadUnsafe(ref s, o), Vector64.LoadUnsafe(ref s8, o), Vector64.Create(Unsafe.Add(ref w, t)));
                }
                Requantize(sums, multiplier, shiftVector, shift, zero, min, max).StoreUnsafe(ref destination, (nuint)(r * destinationStride + b));
            }
        if (!rowMode) CopyOut(ref MemoryMarshal.GetArrayDataReference(_planeOut), _phaseW, output, g.OutW, g.OutH);
    }

    /// <summary>
    /// The reference's clamp(MBQM(sum) + zero point) of 16 sums (bias included) as int8
    /// (<see cref="FixedPointVector.Rescale(Vector128{int}, Vector128{int}, Vector128{int}, int)"/>, one branch for all four vectors).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Requantize(Sums16 s, Vector128<int> multiplier, Vector128<int> shiftVector, int shift, Vector128<int> zero,
        Vector128<sbyte> min, Vector128<sbyte> max)
    {
        Vector128<int> r0, r1, r2, r3;
        if (shift > 0)
        {
            r0 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(AdvSimd.ShiftArithmetic(s.A0, shiftVector), multiplier);
            r1 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(AdvSimd.ShiftArithmetic(s.A1, shiftVector), multiplier);
            r2 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(AdvSimd.ShiftArithmetic(s.A2, shiftVector), multiplier);
            r3 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(AdvSimd.ShiftArithmetic(s.A3, shiftVector), multiplier);
        }
        else
        {
            r0 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(s.A0, multiplier);
            r1 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(s.A1, multiplier);
            r2 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(s.A2, multiplier);
            r3 = AdvSimd.MultiplyRoundedDoublingSaturateHigh(s.A3, multiplier);
            if (shift < 0)
            {
                r0 = AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(r0, r0, 31), shiftVector);
                r1 = AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(r1, r1, 31), shiftVector);
                r2 = AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(r2, r2, 31), shiftVector);
                r3 = AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(r3, r3, 31), shiftVector);
            }
        }
        return FixedPointVector.NarrowClamp(r0 + zero, r1 + zero, r2 + zero, r3 + zero, min, max);
    }

    /// <summary>16 int32 sums (output pixels 0-3, 4-7, 8-11, 12-15).</summary>
    internal readonly struct Sums16
    {
        public readonly Vector128<int> A0, A1, A2, A3;

        public Sums16(Vector128<int> bias) => A0 = A1 = A2 = A3 = bias;

        public Sums16(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3)
        {
            A0 = a0;
            A1 = a1;
            A2 = a2;
            A3 = a3;
        }

        /// <summary>Adds x·w of two taps (pixels 0-7 and 8-15 of each), summed in int16 first (the weights may not both be -128).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Sums16 Add(Vector64<sbyte> xaLo, Vector64<sbyte> xaHi, Vector64<sbyte> wa, Vector64<sbyte> xbLo, Vector64<sbyte> xbHi, Vector64<sbyte> wb) =>
            Widen(AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningLower(xaLo, wa), xbLo, wb),
                AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningLower(xaHi, wa), xbHi, wb));

        /// <summary>Adds x·w of one tap.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Sums16 Add(Vector64<sbyte> xLo, Vector64<sbyte> xHi, Vector64<sbyte> w) =>
            Widen(AdvSimd.MultiplyWideningLower(xLo, w), AdvSimd.MultiplyWideningLower(xHi, w));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Sums16 Widen(Vector128<short> lo, Vector128<short> hi)
        {
            // The upper halves first: the lower-half reads are then the products' last uses and need no register copy.
            var a1 = AdvSimd.AddWideningUpper(A1, lo);
            var a0 = AdvSimd.AddWideningLower(A0, lo.GetLower());
            var a3 = AdvSimd.AddWideningUpper(A3, hi);
            var a2 = AdvSimd.AddWideningLower(A2, hi.GetLower());
            return new(a0, a1, a2, a3);
        }
    }
}
