using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

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
internal sealed class DepthwiseConvInt8AdvSimd : OpKernel, IParallelWork
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
    /// <summary>
    /// Per thread part (one without workers): one channel's bordered phases; the border cells hold the zero point and
    /// are never changed.
    /// </summary>
    private sbyte[][] _buffers;
    /// <summary>Per input row, where its first cell goes in the channel buffer (stride 2 columns: of the even, then of the odd columns).</summary>
    private readonly int[] _rowOffsets;
    private readonly bool _rowMode;
    /// <summary>3x3, stride 1, dilation 1 on a CPU with SDOT (Cortex-A76): <see cref="Channel3x3Dot"/>.</summary>
    private readonly bool _dot3x3;
    /// <summary>Per channel, per kernel row: (w0, w1, w2, 0) repeated over the 4 int32 lanes, for SDOT.</summary>
    private readonly sbyte[] _dotWeights = [];
    /// <summary>Plane mode, per thread part: one channel's outputs at every position, copied out row by row.</summary>
    private sbyte[][] _planeOuts;
    /// <summary>Below this many multiply-adds a layer runs on the calling thread: a dispatch costs about a thousand.</summary>
    private const long MinParallelMacs = 32_768;
    private WorkerPool? _workers;
    private int _chunks = 1;
    /// <summary>The run that <see cref="RunChunk"/> serves (set only while the workers run).</summary>
    private TensorMemory? _memory;
    private int _image;

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

        int paddedH = g.H + g.PadTop + Math.Max(0, (g.OutH - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH + 1 - g.H - g.PadTop);
        _phaseW = PhaseWidth(g);
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

        var (planeBlocks, rowBlocks) = Blocks(g);
        _rowMode = g.OutW >= 16 && rowBlocks <= planeBlocks;
        _planeLength = _rowMode ? 0 : planeBlocks * 16 + 16;
        _planeOuts = [new sbyte[_planeLength]];
        // Blocks read 16 bytes from each tap's offset up to the last block's end (SDOT: 32 from each kernel row's start).
        int reach = Math.Max(planeBlocks * 16, (g.OutH - 1) * _phaseW + g.OutW + 16) + maxOffset + 32;
        _bufferLength = Math.Max(g.StrideH * g.StrideW * _phaseSize, reach) + 16;
        _buffers = [NewBuffer()];
    }

    private readonly int _bufferLength, _planeLength;

    /// <summary>
    /// The 16-output blocks of one channel along the plane (positions q = oh·P + ow, P the phase width) and along whole
    /// rows; the kernel takes the rows when they have 16 outputs or more and need no more blocks.
    /// </summary>
    private static (int Plane, int Rows) Blocks(Window2d g)
    {
        int positions = (g.OutH - 1) * PhaseWidth(g) + g.OutW;
        return ((positions + 15) / 16, g.OutH * ((g.OutW + 15) / 16));
    }

    /// <summary>Columns of one stride phase of the bordered channel buffer.</summary>
    private static int PhaseWidth(Window2d g)
    {
        int paddedW = g.W + g.PadLeft + Math.Max(0, (g.OutW - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1 - g.W - g.PadLeft);
        return (paddedW + g.StrideW - 1) / g.StrideW;
    }

    /// <summary>The 16-output blocks one channel takes.</summary>
    internal static int BlocksPerChannel(Window2d g)
    {
        var (plane, rows) = Blocks(g);
        return g.OutW >= 16 && rows <= plane ? rows : plane;
    }

    private sbyte[] NewBuffer()
    {
        var buffer = new sbyte[_bufferLength];
        Array.Fill(buffer, _inputZeroPoint);
        return buffer;
    }

    public override string Name => _name;

    internal override bool IsParallel => _workers != null;

    internal override void UseWorkers(WorkerPool workers)
    {
        long macs = (long)_g.C * _pixels * _taps;
        if (macs < MinParallelMacs || _g.C < 2) return;
        _workers = workers;
        _chunks = Math.Min(_g.C, 2 * workers.Parts);
        _buffers = new sbyte[_chunks][];
        _planeOuts = new sbyte[_chunks][];
        for (int i = 0; i < _chunks; i++)
        {
            _buffers[i] = NewBuffer();
            _planeOuts[i] = new sbyte[_planeLength];
        }
    }

    public override void Run(TensorMemory memory)
    {
        for (int n = 0; n < _g.N; n++)
        {
            if (_workers != null)
            {
                _memory = memory;
                _image = n;
                _workers.Run(this, _chunks);
                _memory = null;
            }
            else Channels(memory, n, 0, _g.C, 0);
        }
    }

    public void RunChunk(int chunk, int chunks) =>
        Channels(_memory!, _image, _g.C * chunk / chunks, _g.C * (chunk + 1) / chunks, chunk);

    /// <summary>Channels [begin, end) of image n, with the scratch buffers of thread part <paramref name="part"/>.</summary>
    private void Channels(TensorMemory memory, int n, int begin, int end, int part)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        var g = _g;
        int image = g.H * g.W;
        var buffer = _buffers[part];
        var planeOut = _planeOuts[part];
        // Plane mode copies short rows out as whole vectors; the excess past a channel lands on the next one, written
        // afterwards, so a part's outputs end where its channels do.
        int partEnd = (n * g.C + end) * _pixels;
        for (int c = begin; c < end; c++)
        {
            int plane = (n * g.C + c) * image;
            CopyChannel(x, plane, buffer);
            int start = (n * g.C + c) * _pixels;
            var output = y.Slice(start, partEnd - start);
            if (_dot3x3) Channel3x3Dot(c, output, buffer, planeOut);
            else if (_taps == 9 && _pairs[c]) Channel9(c, output, buffer, planeOut);
            else ChannelTaps(c, output, buffer, planeOut);
        }
    }

    /// <summary>
    /// Copies one input plane into the phases of the channel buffer. Rows of 16 (stride 2: 32) bytes or more end with
    /// a vector that overlaps its predecessor; a shorter row is one vector that writes past the row, and the zero point
    /// stored right after the row restores those border cells (cells of later rows are written afterwards).
    /// </summary>
    private void CopyChannel(ReadOnlySpan<sbyte> x, int plane, sbyte[] channelBuffer)
    {
        int width = _g.W, height = _g.H;
        ref sbyte src = ref Unsafe.Add(ref MemoryMarshal.GetReference(x), plane);
        // Bytes readable from the row start: a short row's vector may read past the row, not past the tensor.
        int room = x.Length - plane;
        ref sbyte buffer = ref MemoryMarshal.GetArrayDataReference(channelBuffer);
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
    private void Channel9(int c, Span<sbyte> output, sbyte[] channelBuffer, sbyte[] planeOut)
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
        ref sbyte buffer = ref MemoryMarshal.GetArrayDataReference(channelBuffer);
        ref sbyte destination = ref rowMode ? ref MemoryMarshal.GetReference(output) : ref MemoryMarshal.GetArrayDataReference(planeOut);
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
        if (!rowMode) CopyOut(ref MemoryMarshal.GetArrayDataReference(planeOut), _phaseW, output, g.OutW, g.OutH);
    }

    /// <summary>
    /// 3x3, stride 1, dilation 1 with SDOT (4 int8 products per int32 lane): per kernel row, a 32-byte window and four
    /// table lookups give each lane the row's three inputs of one output pixel (and a fourth, against weight 0), so a
    /// block of 16 outputs is 12 lookups and 12 SDOTs. Exact in int32 for any weights.
    /// </summary>
    private unsafe void Channel3x3Dot(int c, Span<sbyte> output, sbyte[] channelBuffer, sbyte[] planeOut)
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
        ref sbyte destination = ref rowMode ? ref MemoryMarshal.GetReference(output) : ref MemoryMarshal.GetArrayDataReference(planeOut);
        fixed (sbyte* buffer = channelBuffer)
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
        if (!rowMode) CopyOut(ref MemoryMarshal.GetArrayDataReference(planeOut), pw, output, g.OutW, g.OutH);
    }

    /// <summary>Any kernel, or a channel whose taps may not pair: the taps in a loop, two at a time where they may.</summary>
    private void ChannelTaps(int c, Span<sbyte> output, sbyte[] channelBuffer, sbyte[] planeOut)
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
        ref sbyte buffer = ref MemoryMarshal.GetArrayDataReference(channelBuffer);
        ref sbyte destination = ref rowMode ? ref MemoryMarshal.GetReference(output) : ref MemoryMarshal.GetArrayDataReference(planeOut);
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
        if (!rowMode) CopyOut(ref MemoryMarshal.GetArrayDataReference(planeOut), _phaseW, output, g.OutW, g.OutH);
    }

    /// <summary>The reference's clamp(MBQM(sum) + zero point) of 16 sums (bias included) as int8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Requantize(Sums16 s, Vector128<int> multiplier, Vector128<int> shiftVector, int shift, Vector128<int> zero,
        Vector128<sbyte> min, Vector128<sbyte> max) =>
        Requantization.RequantizeToInt8(s.A0, s.A1, s.A2, s.A3, multiplier, shiftVector, shift, zero, min, max);

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
