using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Int16;

/// <summary>
/// Conv with int16 activations and int8 weights as a GEMM over pixels, per group (depthwise included): the columns of a
/// block of pixels (im2col, or the input planes themselves for a 1x1 stride-1 unpadded Conv) times the weights, four
/// output channels at a time, vectors along the pixels. AVX2 pairs two taps per vpmaddwd (rows k and k+1 interleaved);
/// AdvSimd multiplies one tap per SMLAL/SMLAL2. Lanes are int32 over blocks of taps short enough to stay exact
/// (<see cref="Int16Dot"/>), then widened into int64 sums; each output is requantized as the reference does.
/// </summary>
internal sealed class ConvInt16Gemm : OpKernel
{
    /// <summary>Pixels whose columns are built at once (a multiple of both vector widths).</summary>
    private const int Block = 256;

    private readonly string _name;
    private readonly bool _avx2;
    private readonly int _x, _y, _depth, _lanes;
    private readonly bool _direct;
    private readonly ConvKernels.ConvShape _shape;
    private readonly Int16Requantization _q;
    /// <summary>Weights widened to int16, [M, depth]; for AVX2 also as int32 pairs (taps 2i, 2i+1; a zero past an odd depth).</summary>
    private readonly short[] _weights;
    private readonly int[] _pairs;
    private readonly long[] _bias;
    private readonly short[] _columns;
    /// <summary>int64 sums of four channels by one vector of pixels.</summary>
    private readonly long[] _sums = new long[4 * 16];

    public ConvInt16Gemm(KernelSetup s, Isa isa, string name)
    {
        _shape = new ConvKernels.ConvShape(s, DataType.Int16, DataType.Int64, DataType.Int8);
        var g = _shape.Window;
        _depth = _shape.InChannelsPerGroup * g.KernelH * g.KernelW;
        _q = Int16Requantization.Read(s, _shape.OutChannels, _depth);
        _avx2 = isa == Isa.Avx2;
        _lanes = _avx2 ? 16 : 8;
        _weights = GemmInt16Vector.Widen(s.ConstantInput<sbyte>(1));
        int pairsPerChannel = (_depth + 1) / 2;
        _pairs = new int[_shape.OutChannels * pairsPerChannel];
        for (int m = 0; m < _shape.OutChannels; m++)
            for (int i = 0; i < pairsPerChannel; i++)
            {
                int k = 2 * i;
                short lo = _weights[m * _depth + k], hi = k + 1 < _depth ? _weights[m * _depth + k + 1] : (short)0;
                _pairs[m * pairsPerChannel + i] = (ushort)lo | (hi << 16);
            }
        _bias = s.HasInput(2) ? s.ConstantInput<long>(2).ToArray() : new long[_shape.OutChannels];
        _direct = g.KernelH == 1 && g.KernelW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadTop == 0 && g.PadLeft == 0 && g.OutH == g.H && g.OutW == g.W &&
                  g.OutH * g.OutW % _lanes == 0;
        _columns = _direct ? [] : new short[_depth * Block];
        _name = name;
        _x = s.InputId(0);
        _y = s.OutputId(0);
    }

    /// <summary>Every Conv the reference takes (the vectors need only the ISA).</summary>
    public static bool CanHandle(KernelSetup s) => ConvKernels.ConvShape.TryRead(s, DataType.Int16, DataType.Int64, DataType.Int8) != null;

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<short>(_x);
        var y = memory.Write<short>(_y);
        var g = _shape.Window;
        int pixels = g.OutH * g.OutW, plane = g.H * g.W, cpg = _shape.InChannelsPerGroup, mpg = _shape.OutChannelsPerGroup;
        for (int n = 0; n < g.N; n++)
            for (int group = 0; group < _shape.Group; group++)
            {
                int channel0 = n * g.C + group * cpg;
                for (int p0 = 0; p0 < pixels; p0 += Block)
                {
                    int count = Math.Min(Block, pixels - p0);
                    ReadOnlySpan<short> columns;
                    int stride;
                    if (_direct)
                    {
                        columns = x.Slice(channel0 * plane + p0);
                        stride = plane;
                    }
                    else
                    {
                        Im2col(x, channel0, p0, count);
                        columns = _columns;
                        stride = Block;
                    }
                    for (int m0 = 0; m0 < mpg; )
                    {
                        int channels = mpg - m0 >= 4 ? 4 : 1;
                        int m = group * mpg + m0;
                        int output = (n * _shape.OutChannels + m) * pixels + p0;
                        Channels(columns, stride, count, m, channels, y.Slice(output), pixels);
                        m0 += channels;
                    }
                }
            }
    }

    /// <summary>
    /// Outputs of <paramref name="channels"/> (1 or 4) channels from <paramref name="m"/> over <paramref name="count"/>
    /// pixels, whole vectors: the columns hold at least a whole vector past the last pixel (the input planes when their
    /// size is a multiple of the vector, else the column buffer's rows of <see cref="Block"/>), whose extra lanes are dropped.
    /// </summary>
    private void Channels(ReadOnlySpan<short> columns, int stride, int count, int m, int channels, Span<short> y, int channelStride)
    {
        ref short column = ref MemoryMarshal.GetReference(columns);
        for (int j = 0; j < count; j += _lanes)
        {
            Array.Clear(_sums);
            if (_avx2) SumsAvx2(ref column, stride, j, m, channels);
            else SumsAdvSimd(ref column, stride, j, m, channels);
            int lanes = Math.Min(_lanes, count - j);
            for (int c = 0; c < channels; c++)
            {
                if (_avx2)
                {
                    int o = m + c;
                    var v = Int16Dot.RequantizeAvx2(ref _sums[c * 16], _bias[o], _q.Multipliers[o], _q.Shifts[o], _q.Min, _q.Max);
                    if (lanes == 16) v.StoreUnsafe(ref y[c * channelStride + j]);
                    else for (int i = 0; i < lanes; i++) y[c * channelStride + j + i] = v.GetElement(i);
                    continue;
                }
                for (int i = 0; i < lanes; i++)
                    y[c * channelStride + j + i] = Requantize(_sums[c * 16 + i] + _bias[m + c], m + c);
            }
        }
    }

    private short Requantize(long acc, int m) => FixedPoint.RequantizeInt16(acc, _q.Multipliers[m], _q.Shifts[m], _q.Min, _q.Max);

    /// <summary>
    /// 16 pixels: rows k and k+1 interleaved (unpack lo: pixels 0-3 and 8-11, hi: 4-7 and 12-15) against each channel's
    /// weight pair, 255 pairs per int32 block.
    /// </summary>
    private void SumsAvx2(ref short column, int stride, int j, int m, int channels)
    {
        int pairs = (_depth + 1) / 2;
        ref int w = ref _pairs[m * pairs];
        for (int b0 = 0; b0 < pairs; b0 += Int16Dot.PairBlock)
        {
            int b1 = Math.Min(pairs, b0 + Int16Dot.PairBlock);
            Vector256<int> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
            for (int i = b0; i < b1; i++)
            {
                int k = 2 * i;
                var r0 = Vector256.LoadUnsafe(ref column, (nuint)(k * stride + j));
                var r1 = k + 1 < _depth ? Vector256.LoadUnsafe(ref column, (nuint)((k + 1) * stride + j)) : Vector256<short>.Zero;
                var lo = Avx2.UnpackLow(r0, r1);
                var hi = Avx2.UnpackHigh(r0, r1);
                var w0 = Vector256.Create(Unsafe.Add(ref w, i)).AsInt16();
                l0 = Avx2.Add(l0, Avx2.MultiplyAddAdjacent(lo, w0));
                h0 = Avx2.Add(h0, Avx2.MultiplyAddAdjacent(hi, w0));
                if (channels == 1) continue;
                var w1 = Vector256.Create(Unsafe.Add(ref w, pairs + i)).AsInt16();
                var w2 = Vector256.Create(Unsafe.Add(ref w, 2 * pairs + i)).AsInt16();
                var w3 = Vector256.Create(Unsafe.Add(ref w, 3 * pairs + i)).AsInt16();
                l1 = Avx2.Add(l1, Avx2.MultiplyAddAdjacent(lo, w1));
                h1 = Avx2.Add(h1, Avx2.MultiplyAddAdjacent(hi, w1));
                l2 = Avx2.Add(l2, Avx2.MultiplyAddAdjacent(lo, w2));
                h2 = Avx2.Add(h2, Avx2.MultiplyAddAdjacent(hi, w2));
                l3 = Avx2.Add(l3, Avx2.MultiplyAddAdjacent(lo, w3));
                h3 = Avx2.Add(h3, Avx2.MultiplyAddAdjacent(hi, w3));
            }
            AddAvx2(0, l0, h0);
            if (channels == 1) continue;
            AddAvx2(1, l1, h1);
            AddAvx2(2, l2, h2);
            AddAvx2(3, l3, h3);
        }
    }

    /// <summary>Adds one channel's int32 block into its int64 sums, undoing the unpack's pixel order.</summary>
    private void AddAvx2(int c, Vector256<int> lo, Vector256<int> hi)
    {
        ref long s = ref _sums[c * 16];
        (Vector256.LoadUnsafe(ref s, 0) + Vector256.WidenLower(lo)).StoreUnsafe(ref s, 0);
        (Vector256.LoadUnsafe(ref s, 4) + Vector256.WidenLower(hi)).StoreUnsafe(ref s, 4);
        (Vector256.LoadUnsafe(ref s, 8) + Vector256.WidenUpper(lo)).StoreUnsafe(ref s, 8);
        (Vector256.LoadUnsafe(ref s, 12) + Vector256.WidenUpper(hi)).StoreUnsafe(ref s, 12);
    }

    /// <summary>8 pixels: one tap per step against each channel's weight, 511 taps per int32 block.</summary>
    private void SumsAdvSimd(ref short column, int stride, int j, int m, int channels)
    {
        ref short w = ref _weights[m * _depth];
        for (int k0 = 0; k0 < _depth; k0 += Int16Dot.SingleBlock)
        {
            int k1 = Math.Min(_depth, k0 + Int16Dot.SingleBlock);
            Vector128<int> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
            for (int k = k0; k < k1; k++)
            {
                var r = Vector128.LoadUnsafe(ref column, (nuint)(k * stride + j));
                var rl = r.GetLower();
                var w0 = Vector128.Create(Unsafe.Add(ref w, k));
                l0 = AdvSimd.MultiplyWideningLowerAndAdd(l0, rl, w0.GetLower());
                h0 = AdvSimd.MultiplyWideningUpperAndAdd(h0, r, w0);
                if (channels == 1) continue;
                var w1 = Vector128.Create(Unsafe.Add(ref w, _depth + k));
                var w2 = Vector128.Create(Unsafe.Add(ref w, 2 * _depth + k));
                var w3 = Vector128.Create(Unsafe.Add(ref w, 3 * _depth + k));
                l1 = AdvSimd.MultiplyWideningLowerAndAdd(l1, rl, w1.GetLower());
                h1 = AdvSimd.MultiplyWideningUpperAndAdd(h1, r, w1);
                l2 = AdvSimd.MultiplyWideningLowerAndAdd(l2, rl, w2.GetLower());
                h2 = AdvSimd.MultiplyWideningUpperAndAdd(h2, r, w2);
                l3 = AdvSimd.MultiplyWideningLowerAndAdd(l3, rl, w3.GetLower());
                h3 = AdvSimd.MultiplyWideningUpperAndAdd(h3, r, w3);
            }
            AddAdvSimd(0, l0, h0);
            if (channels == 1) continue;
            AddAdvSimd(1, l1, h1);
            AddAdvSimd(2, l2, h2);
            AddAdvSimd(3, l3, h3);
        }
    }

    private void AddAdvSimd(int c, Vector128<int> lo, Vector128<int> hi)
    {
        ref long s = ref _sums[c * 16];
        (Vector128.LoadUnsafe(ref s, 0) + Vector128.WidenLower(lo)).StoreUnsafe(ref s, 0);
        (Vector128.LoadUnsafe(ref s, 2) + Vector128.WidenUpper(lo)).StoreUnsafe(ref s, 2);
        (Vector128.LoadUnsafe(ref s, 4) + Vector128.WidenLower(hi)).StoreUnsafe(ref s, 4);
        (Vector128.LoadUnsafe(ref s, 6) + Vector128.WidenUpper(hi)).StoreUnsafe(ref s, 6);
    }

    /// <summary>
    /// Columns of <paramref name="count"/> pixels from <paramref name="p0"/>: row (c, kh, kw) holds each pixel's tap, 0
    /// outside the input. Built by runs of pixels along an output row: the columns whose tap falls inside the input
    /// form one range, copied as a block at stride 1 and gathered otherwise; the rest is zeros.
    /// </summary>
    private void Im2col(ReadOnlySpan<short> x, int channel0, int p0, int count)
    {
        var g = _shape.Window;
        int row = 0;
        for (int c = 0; c < _shape.InChannelsPerGroup; c++)
        {
            int plane = (channel0 + c) * g.H * g.W;
            for (int kh = 0; kh < g.KernelH; kh++)
                for (int kw = 0; kw < g.KernelW; kw++, row++)
                {
                    int offset = kw * g.DilationW - g.PadLeft;
                    // Output columns whose tap lies in [0, W): ow·stride + offset ≥ 0 and ≤ W − 1.
                    int first = offset >= 0 ? 0 : (-offset + g.StrideW - 1) / g.StrideW;
                    int last = g.W - 1 - offset < 0 ? -1 : (g.W - 1 - offset) / g.StrideW;
                    var columns = _columns.AsSpan(row * Block, count);
                    for (int j = 0; j < count; )
                    {
                        int p = p0 + j, oh = p / g.OutW, ow0 = p % g.OutW, n = Math.Min(g.OutW - ow0, count - j);
                        var run = columns.Slice(j, n);
                        int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                        int lo = Math.Max(first, ow0), hi = Math.Min(last + 1, ow0 + n);
                        if ((uint)ih >= (uint)g.H || lo >= hi) run.Clear();
                        else
                        {
                            run.Slice(0, lo - ow0).Clear();
                            run.Slice(hi - ow0).Clear();
                            var source = x.Slice(plane + ih * g.W);
                            var inside = run.Slice(lo - ow0, hi - lo);
                            if (g.StrideW == 1) source.Slice(lo + offset, hi - lo).CopyTo(inside);
                            else for (int i = 0; i < inside.Length; i++) inside[i] = source[(lo + i) * g.StrideW + offset];
                        }
                        j += n;
                    }
                }
        }
    }
}
