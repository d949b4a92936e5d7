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
internal sealed class DepthwiseConvInt8 : OpKernel, IParallelWork
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
    /// <summary>
    /// Per thread part (one without workers): requantized outputs of one channel in plane mode, one bordered width per
    /// row, plus a vector of slack.
    /// </summary>
    private sbyte[][] _planeOuts = [[]];
    /// <summary>Below this many multiply-adds a layer runs on the calling thread: a dispatch costs about a thousand.</summary>
    private const long MinParallelMacs = 32_768;
    private WorkerPool? _workers;
    private int _chunks = 1;
    /// <summary>The run that <see cref="RunChunk"/> serves (set only while the workers run).</summary>
    private TensorMemory? _memory;
    private int _image;
    /// <summary>AVX-512 requantization of each 16-pixel block (the multiply-adds stay 256-bit).</summary>
    private readonly bool _avx512;
    /// <summary>3x3, dilation 1, stride 1 or 2 (both directions) with AVX2: the unrolled <see cref="Channel3x3"/>.</summary>
    private readonly bool _kernel3x3;

    public DepthwiseConvInt8(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _wide = isa is Isa.Avx2 or Isa.Avx512;
        _avx512 = isa == Isa.Avx512;
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
        _paddedW = PaddedWidth(g);
        _paddedH = g.H + g.PadTop + Math.Max(0, (g.OutH - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH + 1 - g.H - g.PadTop);
        _pixels = g.OutH * g.OutW;
        bool madd = _wide ? Avx2.IsSupported : Sse2.IsSupported;
        _stride2Pairs = g.StrideW == 2 && g.DilationW == 1 && madd;
        _stride1Pairs = g.StrideW == 1 && g.DilationW == 1 && g.KernelW >= 2 && madd;
        if ((_stride1Pairs || _stride2Pairs) && g.StrideH == g.StrideW)
        {
            if (PlaneBlocks(g, _wide ? 16 : 8) < RowBlocks(g, _wide ? 16 : 8))
            {
                _plane = true;
                _planeOuts = [new sbyte[(g.OutH - 1) * _paddedW + g.OutW + 16]];
            }
        }
        _kernel3x3 = _wide && (_stride1Pairs || _stride2Pairs) && g.StrideH == g.StrideW && g.KernelH == 3 && g.KernelW == 3 && g.DilationH == 1;
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

    private static int PaddedWidth(Window2d g) =>
        g.W + g.PadLeft + Math.Max(0, (g.OutW - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1 - g.W - g.PadLeft);

    private static int RowBlocks(Window2d g, int lanes) => g.OutH * ((g.OutW + lanes - 1) / lanes);

    private static int PlaneBlocks(Window2d g, int lanes) => ((g.OutH - 1) * PaddedWidth(g) + g.OutW + lanes - 1) / lanes;

    /// <summary>16-output blocks per channel on AVX2/AVX-512 (plane mode where it takes fewer): what the lane kernels are weighed against.</summary>
    public static int BlocksPerChannel(Window2d g)
    {
        bool pairs = g.DilationW == 1 && (g.StrideW == 2 || (g.StrideW == 1 && g.KernelW >= 2));
        return pairs && g.StrideH == g.StrideW ? Math.Min(PlaneBlocks(g, 16), RowBlocks(g, 16)) : RowBlocks(g, 16);
    }

    public override string Name => _name;

    internal override bool IsParallel => _workers != null;

    internal override void UseWorkers(WorkerPool workers)
    {
        long macs = (long)_g.C * _pixels * _g.KernelH * _g.KernelW;
        if (macs < MinParallelMacs || _g.C < 2) return;
        _workers = workers;
        _chunks = Math.Min(_g.C, 2 * workers.Parts);
        int planeLength = _planeOuts[0].Length;
        _planeOuts = new sbyte[_chunks][];
        for (int i = 0; i < _chunks; i++) _planeOuts[i] = new sbyte[planeLength];
    }

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var g = _g;
        for (int n = 0; n < g.N; n++)
        {
            Int8Im2col.Border16(x.Slice(n * g.C * g.H * g.W, g.C * g.H * g.W), _padded, g, _paddedW, _paddedH, _inputZeroPoint);
            if (_workers != null)
            {
                _memory = memory;
                _image = n;
                _workers.Run(this, _chunks);
                _memory = null;
            }
            else Channels(memory, n, 0, g.C, 0);
        }
    }

    public void RunChunk(int chunk, int chunks) =>
        Channels(_memory!, _image, _g.C * chunk / chunks, _g.C * (chunk + 1) / chunks, chunk);

    /// <summary>Channels [begin, end) of image n (already bordered), with the plane buffer of thread part <paramref name="part"/>.</summary>
    private void Channels(TensorMemory memory, int n, int begin, int end, int part)
    {
        var g = _g;
        int plane = _paddedW * _paddedH, kernelSize = g.KernelH * g.KernelW;
        Span<sbyte> tail = stackalloc sbyte[16];
        Span<int> sums = stackalloc int[16];
        ref short padded = ref MemoryMarshal.GetArrayDataReference(_padded);
        var planeOut = _planeOuts[part];
        {
            // Short rows are stored as whole vectors where the span has the room, the excess landing on later channels:
            // a part's span ends where its channels do.
            var output = memory.Write<sbyte>(_y).Slice(n * g.C * _pixels, end * _pixels);
            var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, 0);
            for (int c = begin; c < end; c++)
            {
                int planeBase = c * plane, wBase = c * kernelSize;
                if (_kernel3x3)
                {
                    Channel3x3(c, ref padded, planeBase, output.Slice(c * _pixels), tail, planeOut);
                    continue;
                }
                if (_plane)
                {
                    PlaneChannel(c, ref padded, planeBase, output.Slice(c * _pixels), tail, planeOut);
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
    private void Channel3x3(int c, ref short padded, int planeBase, Span<sbyte> output, Span<sbyte> tail, Span<sbyte> planeOut)
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
        ChannelRequantization512 rescale = default;
        if (_avx512)
        {
            wide00 = Vector512.Create(pairs).AsInt16();
            wide01 = Vector512.Create(Unsafe.Add(ref pairs, 1)).AsInt16();
            wide10 = Vector512.Create(Unsafe.Add(ref pairs, 2)).AsInt16();
            wide11 = Vector512.Create(Unsafe.Add(ref pairs, 3)).AsInt16();
            wide20 = Vector512.Create(Unsafe.Add(ref pairs, 4)).AsInt16();
            wide21 = Vector512.Create(Unsafe.Add(ref pairs, 5)).AsInt16();
            // The channel's requantization constants broadcast once, not per block (they measured most of the time here).
            rescale = new ChannelRequantization512(_bias[c], _multipliers[c], _shifts[c], _outputZeroPoint, _min, _max);
        }
        if (_plane)
        {
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
            var lo = Taps3x3<Pairs256, Vector256<int>>(ref src, ref r1, ref r2, 0, w00.AsInt32(), w01.AsInt32(), w10.AsInt32(), w11.AsInt32(), w20.AsInt32(), w21.AsInt32());
            var hi = Taps3x3<Pairs256, Vector256<int>>(ref src, ref r1, ref r2, 16, w00.AsInt32(), w01.AsInt32(), w10.AsInt32(), w11.AsInt32(), w20.AsInt32(), w21.AsInt32());
            return (lo, hi);
        }
        var even = Taps3x3<Pairs256, Vector256<int>>(ref src, ref r1, ref r2, 0, w00.AsInt32(), w01.AsInt32(), w10.AsInt32(), w11.AsInt32(), w20.AsInt32(), w21.AsInt32());
        var odd = Taps3x3<Pairs256, Vector256<int>>(ref src, ref r1, ref r2, 1, w00.AsInt32(), w01.AsInt32(), w10.AsInt32(), w11.AsInt32(), w20.AsInt32(), w21.AsInt32());
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
            var lo = Taps3x3<Pairs512, Vector512<int>>(ref src, ref r1, ref r2, 0, w00.AsInt32(), w01.AsInt32(), w10.AsInt32(), w11.AsInt32(), w20.AsInt32(), w21.AsInt32());
            var hi = Taps3x3<Pairs512, Vector512<int>>(ref src, ref r1, ref r2, 32, w00.AsInt32(), w01.AsInt32(), w10.AsInt32(), w11.AsInt32(), w20.AsInt32(), w21.AsInt32());
            return (lo, hi);
        }
        var even = Taps3x3<Pairs512, Vector512<int>>(ref src, ref r1, ref r2, 0, w00.AsInt32(), w01.AsInt32(), w10.AsInt32(), w11.AsInt32(), w20.AsInt32(), w21.AsInt32());
        var odd = Taps3x3<Pairs512, Vector512<int>>(ref src, ref r1, ref r2, 1, w00.AsInt32(), w01.AsInt32(), w10.AsInt32(), w11.AsInt32(), w20.AsInt32(), w21.AsInt32());
        var l = Avx512F.UnpackLow(even, odd).AsInt64();
        var h = Avx512F.UnpackHigh(even, odd).AsInt64();
        return (Avx512F.PermuteVar8x64x2(l, Vector512.Create(0L, 1, 8, 9, 2, 3, 10, 11), h).AsInt32(),
            Avx512F.PermuteVar8x64x2(l, Vector512.Create(4L, 5, 12, 13, 6, 7, 14, 15), h).AsInt32());
    }

    /// <summary>
    /// One output per int32 lane from <paramref name="at"/> (int16 values): the three rows' two tap pairs each (the
    /// kernel's third column paired with zero) as int16-pair multiply-adds, summed in tap order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Taps3x3<TL, TVec>(ref short r0, ref short r1, ref short r2, nuint at, TVec w00, TVec w01, TVec w10, TVec w11, TVec w20, TVec w21)
        where TL : struct, IPairLanes<TVec> where TVec : struct =>
        TL.Add(TL.Add(TL.Add(TL.Add(TL.Add(TL.MultiplyPairs(TL.LoadPairs(ref r0, at), w00), TL.MultiplyPairs(TL.LoadPairs(ref r0, at + 2), w01)),
            TL.MultiplyPairs(TL.LoadPairs(ref r1, at), w10)), TL.MultiplyPairs(TL.LoadPairs(ref r1, at + 2), w11)),
            TL.MultiplyPairs(TL.LoadPairs(ref r2, at), w20)), TL.MultiplyPairs(TL.LoadPairs(ref r2, at + 2), w21));

    /// <summary>One channel in plane mode: every position of the plane, then the OutW valid columns of each row copied out.</summary>
    private void PlaneChannel(int c, ref short padded, int planeBase, Span<sbyte> output, Span<sbyte> tail, Span<sbyte> planeOut)
    {
        var g = _g;
        // Up to the last row's last valid column: the blocks' reads then stay within 48 elements past the plane.
        int pw = _paddedW, positions = (g.OutH - 1) * pw + g.OutW, rowStep = g.DilationH * pw;
        var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, c);
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
