using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 Conv, stride 1, dilation 1, group 1 (1-D or 2-D, any kernel size) as direct AVX-VNNI products: 8 pixels of an
/// output channel take one vpdpbusd per quadruplet of taps (7 for an RGB image's 27 taps of a 3x3 kernel), optionally
/// fused with the MaxPool 2x2/2 that reads the output. Exact for every such Conv up to <see cref="MaxTaps"/> taps
/// (<see cref="IsValid"/>); <see cref="Selection.ConvSelection"/> takes it where it is faster than Winograd or the
/// im2col kernels (1x1 planes, 1-D Convs, 2-D layers on few channels and wide maps).
/// <para>
/// Exactness: the input is copied into bordered planes as x + 128 (vpdpbusd's unsigned operand), the border holding
/// zx + 128, and the bias is corrected by −(zx + 128)·Σ w, so each sum is bias + Σ (x − zx)·w over the taps inside the
/// image, modulo 2³² like the reference's (int32 addition wraps and is associative); taps that fill the last
/// quadruplet have weight 0. The pool takes the maximum of a window's four sums and requantizes once, which equals the
/// maximum of the four requantized pixels where requantization is monotone (multiplier ≥ 0, no left shift); other
/// channels requantize each pixel first.
/// </para>
/// <para>
/// Layouts: for each 32-pixel block of an output row (pooled: of a pair of rows), the taps' rows are interleaved into
/// [row][quadruplet][32 pixels][4 taps] with in-lane byte and word unpacks, which leave the block's pixels in the order
/// 0-3 16-19 | 4-7 20-23 | 8-11 24-27 | 12-15 28-31 (by vector). Horizontal pairs stay adjacent in that order, and the saturating packs
/// put the pixels back in order. Accumulators: 16 independent chains where 32 vector registers exist (vpdpbusd's
/// latency hides behind the others), 8 on x86-64-v3 builds (16 registers).
/// </para>
/// </summary>
internal sealed class ConvInt8DirectVnni : OpKernel, IParallelWork
{
    /// <summary>Input channels up to which it is exact and tested (its per-row interleave grows with the channels).</summary>
    public const int MaxInChannels = 64;
    /// <summary>Taps per output pixel up to which it is taken (and tested): 64 channels of a 3x3 kernel.</summary>
    public const int MaxTaps = 9 * MaxInChannels;
    /// <summary>Pixels per block of the interleaved rows: one 256-bit load per tap row.</summary>
    private const int BlockPixels = 32;
    /// <summary>Bytes of one quadruplet of taps of a block (4 vectors).</summary>
    private const int BlockBytes = BlockPixels * 4;
    /// <summary>Multiply-adds per run below which splitting across threads costs more than it saves.</summary>
    private const long MinParallelMacs = 200_000;

    private readonly string _name;
    private readonly int _x, _y;
    private readonly Window2d _g;
    private readonly int _channels, _outChannels, _quads, _taps, _kernelH, _kernelW;
    private readonly int _pixels, _rowStride, _plane, _pooledW;
    /// <summary>
    /// The geometry the kernel works on: the Conv's, except that a 1x1 Conv without padding sees each plane as one row
    /// of H·W pixels (no neighbours to keep apart), so short rows do not leave blocks half empty.
    /// </summary>
    private readonly int _h, _w, _outH, _outW, _padTop, _padLeft;
    /// <summary>Fused with the MaxPool: output rows go in pairs, else one at a time.</summary>
    private readonly bool _pooled;
    /// <summary>
    /// Output rows interleaved together (2 pooled, else 1), and the units of work per image that threads split: row
    /// pairs when pooled, else 32-pixel blocks of the rows (a 1x1 Conv's plane is a single row).
    /// </summary>
    private readonly int _unitRows, _units;
    /// <summary>32-pixel blocks per output row.</summary>
    private readonly int _blocks;
    private readonly int _outputZeroPoint, _min, _max;
    private readonly int[] _multipliers, _shifts, _bias;
    private readonly bool[] _monotone;
    /// <summary>Per output channel, its multiplier and shift as AVX-512 constants (empty without AVX-512BW): set up once, not per block.</summary>
    private readonly QuantizedMultiplier512[] _rescale512 = [];
    /// <summary>Per output channel and quadruplet, the 4 int8 weights as one int32 (zero past the last tap).</summary>
    private readonly int[] _weights;
    /// <summary>Per tap (quadruplet-padded with repeats of tap 0), its offset in the bordered planes from an output pixel's.</summary>
    private readonly int[] _tapOffsets;
    /// <summary>The image as x + 128 in planes with a border of zx + 128 (written once; runs fill the interior).</summary>
    private readonly byte[] _bordered;
    /// <summary>Per parallel chunk, the interleaved taps of one 32-pixel block of an output row (pooled: of a pair of rows).</summary>
    private byte[][] _interleaved;

    private WorkerPool? _workers;
    private int _chunks = 1;
    /// <summary>What the parallel parts work on: set by <see cref="Run"/> before each dispatch.</summary>
    private TensorMemory? _memory;
    private int _image;

    /// <summary>Whether the kernel computes this Conv exactly (group 1, stride 1, dilation 1, at most <see cref="MaxTaps"/> taps).</summary>
    public static bool IsValid(KernelSetup s)
    {
        try
        {
            if (s.InputCount < 2 || s.OutputCount != 1 || !s.HasInput(0) || !s.HasInput(1)) return false;
            var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
            var g = shape.Window;
            return shape.Group == 1 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1
                && g.C * g.KernelH * g.KernelW <= MaxTaps && g.OutH > 0 && g.OutW > 0;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>The fused form: a 2-D Conv as <see cref="IsValid"/> with 3x3 kernels and at most <see cref="MaxInChannels"/> channels.</summary>
    public static bool IsValidPooled(KernelSetup s) =>
        IsValid(s) && s.Input(0).Rank == 4 && s.Input(1).Shape[2] == 3 && s.Input(1).Shape[3] == 3 && s.Input(0).Shape[1] <= MaxInChannels;

    /// <summary>A 1x1 Conv without padding (stride 1, as all this kernel takes): each plane can run as one row.</summary>
    internal static bool IsFlat(Window2d g) =>
        g.KernelH == 1 && g.KernelW == 1 && g.PadTop == 0 && g.PadLeft == 0 && g.OutH == g.H && g.OutW == g.W;

    /// <summary>Whether rows of <paramref name="width"/> pixels fill their 32-pixel blocks but for at most an eighth (the rest is computed and dropped).</summary>
    internal static bool FillsBlocks(int width)
    {
        int pixels = (width + BlockPixels - 1) / BlockPixels * BlockPixels;
        return 8 * (pixels - width) <= pixels;
    }

    /// <param name="pool">The MaxPool 2x2/2 reading the Conv's output, to fuse with; null for the Conv alone.</param>
    public ConvInt8DirectVnni(KernelSetup s, KernelSetup? pool, string name)
    {
        _name = name;
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        int inputZeroPoint;
        (inputZeroPoint, _outputZeroPoint, _multipliers, _shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, shape.OutChannels);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        if (pool != null)
        {
            if (!ConvPoolFusion.TilesConvOutput(s, pool, out int poolMin, out int poolMax)) throw s.Fail($"cannot fuse {pool.Op}");
            // clamp(clamp(v, min, max), poolMin, poolMax) is one clamp to these (both are monotone).
            (_min, _max) = (Math.Clamp(_min, poolMin, poolMax), Math.Clamp(_max, poolMin, poolMax));
            _y = pool.OutputId(0);
            _pooled = true;
        }
        _g = shape.Window;
        var g = _g;
        if (g.StrideH != 1 || g.StrideW != 1 || g.DilationH != 1 || g.DilationW != 1 || shape.Group != 1)
            throw s.Fail("the direct AVX-VNNI Conv takes stride 1, dilation 1 and group 1 only");
        _channels = g.C;
        _outChannels = shape.OutChannels;
        _kernelH = g.KernelH;
        _kernelW = g.KernelW;
        (_h, _w, _outH, _outW, _padTop, _padLeft) = IsFlat(g) && !_pooled ? (1, g.H * g.W, 1, g.H * g.W, 0, 0) : (g.H, g.W, g.OutH, g.OutW, g.PadTop, g.PadLeft);
        int kernelSize = _kernelH * _kernelW;
        _taps = _channels * kernelSize;
        _quads = (_taps + 3) / 4;
        _unitRows = _pooled ? 2 : 1;
        _blocks = (_outW + BlockPixels - 1) / BlockPixels;
        _units = _pooled ? _outH / 2 : _outH * _blocks;
        _pooledW = _outW / 2;
        _pixels = (_outW + BlockPixels - 1) / BlockPixels * BlockPixels;
        // A block's tap loads read 32 bytes from columns kx..kx+KW-1 past its first pixel, rows y..y+KH-1 past its row.
        _rowStride = _pixels + _kernelW - 1;
        _plane = (_outH + _kernelH - 1) * _rowStride;
        int storedZeroPoint = inputZeroPoint + 128;
        _bordered = new byte[_channels * _plane];
        Array.Fill(_bordered, (byte)storedZeroPoint);

        var weights = MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span);
        _bias = new int[_outChannels];
        if (s.HasInput(2)) MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span).CopyTo(_bias);
        _weights = new int[_outChannels * _quads];
        _monotone = new bool[_outChannels];
        for (int m = 0; m < _outChannels; m++)
        {
            var w = weights.Slice(m * _taps, _taps);
            int sum = 0;
            foreach (sbyte v in w) sum += v;
            _bias[m] -= storedZeroPoint * sum;
            for (int q = 0; q < _quads; q++)
                for (int j = 0; j < 4; j++)
                    if (4 * q + j < _taps) _weights[m * _quads + q] |= (byte)w[4 * q + j] << (8 * j);
            _monotone[m] = _multipliers[m] >= 0 && _shifts[m] <= 0;
        }
        if (Avx512BW.IsSupported)
        {
            _rescale512 = new QuantizedMultiplier512[_outChannels];
            for (int m = 0; m < _outChannels; m++) _rescale512[m] = new QuantizedMultiplier512(_multipliers[m], _shifts[m]);
        }
        _tapOffsets = new int[_quads * 4];
        for (int t = 0; t < _tapOffsets.Length; t++)
        {
            int tap = t < _taps ? t : 0;
            _tapOffsets[t] = tap / kernelSize * _plane + tap % kernelSize / _kernelW * _rowStride + tap % _kernelW;
        }
        _interleaved = [new byte[InterleavedLength]];
    }

    private int InterleavedLength => _unitRows * _quads * BlockBytes;

    public override string Name => _name;

    internal override bool IsParallel => _workers != null;

    internal override void UseWorkers(WorkerPool workers)
    {
        long macs = (long)_outChannels * _outH * _pixels * _quads * 4;
        if (macs < MinParallelMacs || _units < 2) return;
        _workers = workers;
        _chunks = Math.Min(_units, 4 * workers.Parts);
        _interleaved = new byte[_chunks][];
        for (int i = 0; i < _chunks; i++) _interleaved[i] = new byte[InterleavedLength];
    }

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var g = _g;
        for (int n = 0; n < g.N; n++)
        {
            // The whole image is copied before any output is written: a pooled output may share its bytes.
            CopyBordered(x.Slice(n * g.C * g.H * g.W, g.C * g.H * g.W));
            if (_workers != null)
            {
                _memory = memory;
                _image = n;
                _workers.Run(this, _chunks);
                _memory = null;
            }
            else Units(memory.Write<sbyte>(_y), n, 0, _units, _interleaved[0]);
        }
    }

    public void RunChunk(int chunk, int chunks)
    {
        int begin = _units * chunk / chunks, end = _units * (chunk + 1) / chunks;
        if (begin < end) Units(_memory!.Write<sbyte>(_y), _image, begin, end, _interleaved[chunk]);
    }

    /// <summary>Fills the interior of <see cref="_bordered"/> with the image's values + 128 (a flip of the sign bit).</summary>
    private void CopyBordered(ReadOnlySpan<sbyte> image)
    {
        var g = _g;
        ref byte source = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(image));
        ref byte bordered = ref MemoryMarshal.GetArrayDataReference(_bordered);
        var flip = Vector256.Create((byte)0x80);
        for (int c = 0; c < g.C; c++)
            for (int h = 0; h < _h; h++)
            {
                ref byte from = ref Unsafe.Add(ref source, (c * _h + h) * _w);
                ref byte to = ref Unsafe.Add(ref bordered, c * _plane + (h + _padTop) * _rowStride + _padLeft);
                int w = 0;
                for (; w + 32 <= _w; w += 32) (Vector256.LoadUnsafe(ref from, (nuint)w) ^ flip).StoreUnsafe(ref to, (nuint)w);
                if (w + 16 <= _w)
                {
                    (Vector128.LoadUnsafe(ref from, (nuint)w) ^ flip.GetLower()).StoreUnsafe(ref to, (nuint)w);
                    w += 16;
                }
                if (w + 8 <= _w)
                {
                    Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, w), Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref from, w)) ^ 0x8080_8080_8080_8080UL);
                    w += 8;
                }
                for (; w < _w; w++) Unsafe.Add(ref to, w) = (byte)(Unsafe.Add(ref from, w) ^ 0x80);
            }
    }

    /// <summary>Units [begin, end) of image <paramref name="n"/> (pooled: row pairs; else blocks of rows, row by row).</summary>
    private void Units(Span<sbyte> output, int n, int begin, int end, byte[] interleaved)
    {
        if (_pooled) RowPairs(output, n, begin, end, interleaved);
        else Rows(output, n, begin, end, interleaved);
    }

    private void RowPairs(Span<sbyte> output, int n, int begin, int end, byte[] interleaved)
    {
        int pooledH = _units;
        ref sbyte y = ref MemoryMarshal.GetReference(output);
        for (int p = begin; p < end; p++)
        {
            for (int x0 = 0; x0 < _pixels; x0 += BlockPixels)
            {
                Interleave(2 * p, interleaved, x0);
                int valid = Math.Min(BlockPixels / 2, _pooledW - x0 / 2);
                if (Avx512F.IsSupported)
                {
                    // 32 vector registers: two output channels at a time, 16 accumulators.
                    for (int m = 0; m < _outChannels; m += 2)
                    {
                        int second = Math.Min(m + 1, _outChannels - 1);
                        Block(interleaved, m, second, out var first16, out var second16);
                        Store(first16, ref Unsafe.Add(ref y, ((n * _outChannels + m) * pooledH + p) * _pooledW + x0 / 2), valid);
                        if (second != m) Store(second16, ref Unsafe.Add(ref y, ((n * _outChannels + second) * pooledH + p) * _pooledW + x0 / 2), valid);
                    }
                }
                else
                {
                    // 16: one channel at a time, 8 accumulators (two channels' 16 would spill).
                    for (int m = 0; m < _outChannels; m++)
                    {
                        Whole(interleaved, m, out var low, out var high);
                        Store(Finish(low, high, m), ref Unsafe.Add(ref y, ((n * _outChannels + m) * pooledH + p) * _pooledW + x0 / 2), valid);
                    }
                }
            }
        }
    }

    /// <summary>Blocks [begin, end) of image <paramref name="n"/>'s output rows (numbered row by row), unpooled.</summary>
    private void Rows(Span<sbyte> output, int n, int begin, int end, byte[] interleaved)
    {
        int plane = _outH * _outW;
        ref sbyte y = ref MemoryMarshal.GetReference(output);
        for (int row = begin / _blocks; row * _blocks < end; row++)
        {
            int blockBegin = Math.Max(begin - row * _blocks, 0), blockEnd = Math.Min(end - row * _blocks, _blocks);
            for (int x0 = blockBegin * BlockPixels; x0 < blockEnd * BlockPixels; x0 += BlockPixels)
            {
                Interleave(row, interleaved, x0);
                int valid = Math.Min(BlockPixels, _outW - x0);
                ref sbyte first = ref Unsafe.Add(ref y, n * _outChannels * plane + row * _outW + x0);
                if (Avx512F.IsSupported)
                {
                    // 32 vector registers: four output channels at a time, 16 accumulators.
                    for (int m = 0; m < _outChannels; m += 4)
                        RowOfFour(interleaved, m, ref first, plane, valid);
                }
                else
                {
                    // 16: two at a time, 8 accumulators.
                    for (int m = 0; m < _outChannels; m += 2)
                        RowOfTwo(interleaved, m, ref first, plane, valid);
                }
            }
        }
    }

    /// <summary>
    /// Output channels m..m+3 (those that exist) of the block at <paramref name="x0"/> of the interleaved row, stored
    /// from <paramref name="first"/> (channel 0's pixel) on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RowOfFour(byte[] interleaved, int m, ref sbyte first, int plane, int valid)
    {
        int last = _outChannels - 1;
        int m1 = Math.Min(m + 1, last), m2 = Math.Min(m + 2, last), m3 = Math.Min(m + 3, last);
        ref byte row = ref MemoryMarshal.GetArrayDataReference(interleaved);
        const nuint quadStride = BlockBytes;
        ref int weights = ref MemoryMarshal.GetArrayDataReference(_weights);
        ref int w0 = ref Unsafe.Add(ref weights, m * _quads);
        ref int w1 = ref Unsafe.Add(ref weights, m1 * _quads);
        ref int w2 = ref Unsafe.Add(ref weights, m2 * _quads);
        ref int w3 = ref Unsafe.Add(ref weights, m3 * _quads);
        var bias0 = Vector256.Create(_bias[m]);
        var bias1 = Vector256.Create(_bias[m1]);
        var bias2 = Vector256.Create(_bias[m2]);
        var bias3 = Vector256.Create(_bias[m3]);
        // [channel][vector]
        Vector256<int> a00 = bias0, a01 = bias0, a02 = bias0, a03 = bias0, a10 = bias1, a11 = bias1, a12 = bias1, a13 = bias1;
        Vector256<int> a20 = bias2, a21 = bias2, a22 = bias2, a23 = bias2, a30 = bias3, a31 = bias3, a32 = bias3, a33 = bias3;
        nuint offset = 0;
        for (int q = 0; q < _quads; q++, offset += quadStride)
        {
            var v0 = Vector256.Create(Unsafe.Add(ref w0, q)).AsSByte();
            var v1 = Vector256.Create(Unsafe.Add(ref w1, q)).AsSByte();
            var v2 = Vector256.Create(Unsafe.Add(ref w2, q)).AsSByte();
            var v3 = Vector256.Create(Unsafe.Add(ref w3, q)).AsSByte();
            var x = Vector256.LoadUnsafe(ref row, offset);
            a00 = AvxVnni.MultiplyWideningAndAdd(a00, x, v0);
            a10 = AvxVnni.MultiplyWideningAndAdd(a10, x, v1);
            a20 = AvxVnni.MultiplyWideningAndAdd(a20, x, v2);
            a30 = AvxVnni.MultiplyWideningAndAdd(a30, x, v3);
            x = Vector256.LoadUnsafe(ref row, offset + 32);
            a01 = AvxVnni.MultiplyWideningAndAdd(a01, x, v0);
            a11 = AvxVnni.MultiplyWideningAndAdd(a11, x, v1);
            a21 = AvxVnni.MultiplyWideningAndAdd(a21, x, v2);
            a31 = AvxVnni.MultiplyWideningAndAdd(a31, x, v3);
            x = Vector256.LoadUnsafe(ref row, offset + 64);
            a02 = AvxVnni.MultiplyWideningAndAdd(a02, x, v0);
            a12 = AvxVnni.MultiplyWideningAndAdd(a12, x, v1);
            a22 = AvxVnni.MultiplyWideningAndAdd(a22, x, v2);
            a32 = AvxVnni.MultiplyWideningAndAdd(a32, x, v3);
            x = Vector256.LoadUnsafe(ref row, offset + 96);
            a03 = AvxVnni.MultiplyWideningAndAdd(a03, x, v0);
            a13 = AvxVnni.MultiplyWideningAndAdd(a13, x, v1);
            a23 = AvxVnni.MultiplyWideningAndAdd(a23, x, v2);
            a33 = AvxVnni.MultiplyWideningAndAdd(a33, x, v3);
        }
        StoreRow(a00, a01, a02, a03, m, ref Unsafe.Add(ref first, m * plane), valid);
        if (m1 != m) StoreRow(a10, a11, a12, a13, m1, ref Unsafe.Add(ref first, m1 * plane), valid);
        if (m2 != m1) StoreRow(a20, a21, a22, a23, m2, ref Unsafe.Add(ref first, m2 * plane), valid);
        if (m3 != m2) StoreRow(a30, a31, a32, a33, m3, ref Unsafe.Add(ref first, m3 * plane), valid);
    }

    /// <summary>As <see cref="RowOfFour"/> for output channels m and m + 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RowOfTwo(byte[] interleaved, int m, ref sbyte first, int plane, int valid)
    {
        int m1 = Math.Min(m + 1, _outChannels - 1);
        ref byte row = ref MemoryMarshal.GetArrayDataReference(interleaved);
        const nuint quadStride = BlockBytes;
        ref int w0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights), m * _quads);
        ref int w1 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights), m1 * _quads);
        var bias0 = Vector256.Create(_bias[m]);
        var bias1 = Vector256.Create(_bias[m1]);
        Vector256<int> a00 = bias0, a01 = bias0, a02 = bias0, a03 = bias0, a10 = bias1, a11 = bias1, a12 = bias1, a13 = bias1;
        nuint offset = 0;
        for (int q = 0; q < _quads; q++, offset += quadStride)
        {
            var v0 = Vector256.Create(Unsafe.Add(ref w0, q)).AsSByte();
            var v1 = Vector256.Create(Unsafe.Add(ref w1, q)).AsSByte();
            var x = Vector256.LoadUnsafe(ref row, offset);
            a00 = AvxVnni.MultiplyWideningAndAdd(a00, x, v0);
            a10 = AvxVnni.MultiplyWideningAndAdd(a10, x, v1);
            x = Vector256.LoadUnsafe(ref row, offset + 32);
            a01 = AvxVnni.MultiplyWideningAndAdd(a01, x, v0);
            a11 = AvxVnni.MultiplyWideningAndAdd(a11, x, v1);
            x = Vector256.LoadUnsafe(ref row, offset + 64);
            a02 = AvxVnni.MultiplyWideningAndAdd(a02, x, v0);
            a12 = AvxVnni.MultiplyWideningAndAdd(a12, x, v1);
            x = Vector256.LoadUnsafe(ref row, offset + 96);
            a03 = AvxVnni.MultiplyWideningAndAdd(a03, x, v0);
            a13 = AvxVnni.MultiplyWideningAndAdd(a13, x, v1);
        }
        StoreRow(a00, a01, a02, a03, m, ref Unsafe.Add(ref first, m * plane), valid);
        if (m1 != m) StoreRow(a10, a11, a12, a13, m1, ref Unsafe.Add(ref first, m1 * plane), valid);
    }

    /// <summary>
    /// Requantizes the sums of a block's 32 pixels (vectors in the interleaved order 0-3 16-19 | 4-7 20-23 | 8-11 24-27
    /// | 12-15 28-31) of output channel <paramref name="m"/> and stores the first <paramref name="valid"/> in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreRow(Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3, int m, ref sbyte to, int valid)
    {
        Vector256<sbyte> bytes;
        if (Avx512BW.IsSupported)
        {
            ref readonly var rescale = ref _rescale512[m];
            var zero = Vector512.Create(_outputZeroPoint);
            var min = Vector512.Create(_min);
            var max = Vector512.Create(_max);
            var low = Requantization.ToOutputRange(rescale.Apply(Vector512.Create(s0, s1)), zero, min, max);
            var high = Requantization.ToOutputRange(rescale.Apply(Vector512.Create(s2, s3)), zero, min, max);
            // vpmovdb keeps the lane order: groups of 4 pixels 0-3 16-19 4-7 20-23 and 8-11 24-27 12-15 28-31.
            var a = Avx512F.ConvertToVector128SByte(low).AsSingle();
            var b = Avx512F.ConvertToVector128SByte(high).AsSingle();
            bytes = Vector256.Create(Sse.Shuffle(a, b, 0b10_00_10_00), Sse.Shuffle(a, b, 0b11_01_11_01)).AsSByte();
        }
        else
        {
            int multiplier = _multipliers[m], shift = _shifts[m];
            var zero = Vector256.Create(_outputZeroPoint);
            var min = Vector256.Create(_min);
            var max = Vector256.Create(_max);
            s0 = Requantization.Requantize(s0, multiplier, shift, zero, min, max);
            s1 = Requantization.Requantize(s1, multiplier, shift, zero, min, max);
            s2 = Requantization.Requantize(s2, multiplier, shift, zero, min, max);
            s3 = Requantization.Requantize(s3, multiplier, shift, zero, min, max);
            // In-lane packs: words 0-7 | 16-23 and 8-15 | 24-31, then bytes 0-15 | 16-31: in order.
            bytes = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(s0, s1), Avx2.PackSignedSaturate(s2, s3));
        }
        if (valid == BlockPixels) bytes.StoreUnsafe(ref to);
        else
            for (int i = 0; i < valid; i++) Unsafe.Add(ref to, i) = bytes.GetElement(i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<byte> pooled, ref sbyte to, int valid)
    {
        if (valid == 16) pooled.AsSByte().StoreUnsafe(ref to);
        else
            for (int i = 0; i < valid; i++) Unsafe.Add(ref to, i) = (sbyte)pooled.GetElement(i);
    }

    /// <summary>
    /// Interleaves the taps of the 32-pixel block at <paramref name="x0"/> of output row <paramref name="row"/> (pooled:
    /// and row + 1) into <paramref name="interleaved"/> as [row][quadruplet][4 vectors]; see the class remarks for the
    /// pixel order. One block at a time, so the buffer (at most a few KB) stays in L1 while every channel reads it.
    /// </summary>
    private void Interleave(int row, byte[] interleaved, int x0)
    {
        ref byte to = ref MemoryMarshal.GetArrayDataReference(interleaved);
        ref int offsets = ref MemoryMarshal.GetArrayDataReference(_tapOffsets);
        int taps = 4 * _quads;
        for (int r = 0; r < _unitRows; r++)
        {
            ref byte rowStart = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_bordered), (row + r) * _rowStride + x0);
            ref byte quad = ref Unsafe.Add(ref to, r * _quads * BlockBytes);
            for (int t = 0; t < taps; t += 4, quad = ref Unsafe.Add(ref quad, BlockBytes))
            {
                var a = Vector256.LoadUnsafe(ref Unsafe.Add(ref rowStart, Unsafe.Add(ref offsets, t)));
                var b = Vector256.LoadUnsafe(ref Unsafe.Add(ref rowStart, Unsafe.Add(ref offsets, t + 1)));
                var c = Vector256.LoadUnsafe(ref Unsafe.Add(ref rowStart, Unsafe.Add(ref offsets, t + 2)));
                var d = Vector256.LoadUnsafe(ref Unsafe.Add(ref rowStart, Unsafe.Add(ref offsets, t + 3)));
                // Bytes a0 b0 a1 b1 … per 128-bit lane, then words: 4 taps per pixel.
                var abLow = Avx2.UnpackLow(a, b).AsInt16();
                var abHigh = Avx2.UnpackHigh(a, b).AsInt16();
                var cdLow = Avx2.UnpackLow(c, d).AsInt16();
                var cdHigh = Avx2.UnpackHigh(c, d).AsInt16();
                Avx2.UnpackLow(abLow, cdLow).AsByte().StoreUnsafe(ref quad, 0);     // pixels 0-3, 16-19
                Avx2.UnpackHigh(abLow, cdLow).AsByte().StoreUnsafe(ref quad, 32);   // 4-7, 20-23
                Avx2.UnpackLow(abHigh, cdHigh).AsByte().StoreUnsafe(ref quad, 64);  // 8-11, 24-27
                Avx2.UnpackHigh(abHigh, cdHigh).AsByte().StoreUnsafe(ref quad, 96); // 12-15, 28-31
            }
        }
    }

    /// <summary>The 16 pooled pixels of the block at <paramref name="x0"/> for output channels <paramref name="m0"/> and <paramref name="m1"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Block(byte[] interleaved, int m0, int m1, out Vector128<byte> first, out Vector128<byte> second)
    {
        Whole(interleaved, m0, m1, out var low0, out var low1, out var high0, out var high1);
        first = Finish(low0, high0, m0);
        second = Finish(low1, high1, m1);
    }

    /// <summary>
    /// The 16 pooled pixels in order from the pooled values of the two halves (lanes 0-3 | 8-11 and 4-7 | 12-15):
    /// requantized (unless <see cref="Pool"/> did), offset, clamped and narrowed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector128<byte> Finish(Vector256<int> low, Vector256<int> high, int m)
    {
        if (Avx512BW.IsSupported)
        {
            // One 512-bit requantization (a single rounding step on int64 lanes) for both halves.
            var both = Vector512.Create(low, high);
            if (_monotone[m]) both = _rescale512[m].Apply(both);
            both = Requantization.ToOutputRange(both, Vector512.Create(_outputZeroPoint), Vector512.Create(_min), Vector512.Create(_max));
            // vpmovdb keeps the lane order: groups of 4 pixels 0-3, 8-11, 4-7, 12-15.
            return Sse2.Shuffle(Avx512F.ConvertToVector128SByte(both).AsInt32(), 0b11_01_10_00).AsByte();
        }
        if (_monotone[m])
        {
            low = Requantization.MultiplyByQuantizedMultiplier(low, _multipliers[m], _shifts[m]);
            high = Requantization.MultiplyByQuantizedMultiplier(high, _multipliers[m], _shifts[m]);
        }
        var zero = Vector256.Create(_outputZeroPoint);
        var min = Vector256.Create(_min);
        var max = Vector256.Create(_max);
        low = Requantization.ToOutputRange(low, zero, min, max);
        high = Requantization.ToOutputRange(high, zero, min, max);
        // In-lane packs: words 0-3, 4-7 | 8-11, 12-15, then bytes 0-7 (twice) | 8-15 (twice).
        var words = Avx2.PackSignedSaturate(low, high);
        var bytes = Avx2.PackSignedSaturate(words, words);
        return Avx2.Permute4x64(bytes.AsInt64(), 0b11_01_10_00).GetLower().AsByte();
    }

    /// <summary>
    /// Pooled pixels of the block at <paramref name="x0"/> for two output channels: <paramref name="low0"/> /
    /// <paramref name="low1"/> from vectors 0-1 (pooled pixels 0-3 and 8-11), the high ones from vectors 2-3 (4-7, 12-15).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Whole(byte[] interleaved, int m0, int m1, out Vector256<int> low0, out Vector256<int> low1, out Vector256<int> high0, out Vector256<int> high1)
    {
        ref byte row0 = ref MemoryMarshal.GetArrayDataReference(interleaved);
        ref byte row1 = ref Unsafe.Add(ref row0, _quads * BlockBytes);
        const nuint quadStride = BlockBytes;
        ref int weights0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights), m0 * _quads);
        ref int weights1 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights), m1 * _quads);
        var bias0 = Vector256.Create(_bias[m0]);
        var bias1 = Vector256.Create(_bias[m1]);
        // [row][vector][channel]
        Vector256<int> a000 = bias0, a001 = bias1, a010 = bias0, a011 = bias1, a100 = bias0, a101 = bias1, a110 = bias0, a111 = bias1;
        Vector256<int> a020 = bias0, a021 = bias1, a030 = bias0, a031 = bias1, a120 = bias0, a121 = bias1, a130 = bias0, a131 = bias1;
        nuint offset = 0;
        for (int q = 0; q < _quads; q++, offset += quadStride)
        {
            var w0 = Vector256.Create(Unsafe.Add(ref weights0, q)).AsSByte();
            var w1 = Vector256.Create(Unsafe.Add(ref weights1, q)).AsSByte();
            var x = Vector256.LoadUnsafe(ref row0, offset);
            a000 = AvxVnni.MultiplyWideningAndAdd(a000, x, w0);
            a001 = AvxVnni.MultiplyWideningAndAdd(a001, x, w1);
            x = Vector256.LoadUnsafe(ref row0, offset + 32);
            a010 = AvxVnni.MultiplyWideningAndAdd(a010, x, w0);
            a011 = AvxVnni.MultiplyWideningAndAdd(a011, x, w1);
            x = Vector256.LoadUnsafe(ref row0, offset + 64);
            a020 = AvxVnni.MultiplyWideningAndAdd(a020, x, w0);
            a021 = AvxVnni.MultiplyWideningAndAdd(a021, x, w1);
            x = Vector256.LoadUnsafe(ref row0, offset + 96);
            a030 = AvxVnni.MultiplyWideningAndAdd(a030, x, w0);
            a031 = AvxVnni.MultiplyWideningAndAdd(a031, x, w1);
            x = Vector256.LoadUnsafe(ref row1, offset);
            a100 = AvxVnni.MultiplyWideningAndAdd(a100, x, w0);
            a101 = AvxVnni.MultiplyWideningAndAdd(a101, x, w1);
            x = Vector256.LoadUnsafe(ref row1, offset + 32);
            a110 = AvxVnni.MultiplyWideningAndAdd(a110, x, w0);
            a111 = AvxVnni.MultiplyWideningAndAdd(a111, x, w1);
            x = Vector256.LoadUnsafe(ref row1, offset + 64);
            a120 = AvxVnni.MultiplyWideningAndAdd(a120, x, w0);
            a121 = AvxVnni.MultiplyWideningAndAdd(a121, x, w1);
            x = Vector256.LoadUnsafe(ref row1, offset + 96);
            a130 = AvxVnni.MultiplyWideningAndAdd(a130, x, w0);
            a131 = AvxVnni.MultiplyWideningAndAdd(a131, x, w1);
        }
        low0 = Pool(a000, a010, a100, a110, m0);
        low1 = Pool(a001, a011, a101, a111, m1);
        high0 = Pool(a020, a030, a120, a130, m0);
        high1 = Pool(a021, a031, a121, a131, m1);
    }

    /// <summary>As the two-channel <see cref="Whole(byte[], int, int, int, out Vector256{int}, out Vector256{int}, out Vector256{int}, out Vector256{int})"/> for one output channel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Whole(byte[] interleaved, int m, out Vector256<int> low, out Vector256<int> high)
    {
        ref byte row0 = ref MemoryMarshal.GetArrayDataReference(interleaved);
        ref byte row1 = ref Unsafe.Add(ref row0, _quads * BlockBytes);
        const nuint quadStride = BlockBytes;
        ref int weights = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights), m * _quads);
        var bias = Vector256.Create(_bias[m]);
        // [row][vector]
        Vector256<int> a00 = bias, a01 = bias, a02 = bias, a03 = bias, a10 = bias, a11 = bias, a12 = bias, a13 = bias;
        nuint offset = 0;
        for (int q = 0; q < _quads; q++, offset += quadStride)
        {
            var w = Vector256.Create(Unsafe.Add(ref weights, q)).AsSByte();
            a00 = AvxVnni.MultiplyWideningAndAdd(a00, Vector256.LoadUnsafe(ref row0, offset), w);
            a01 = AvxVnni.MultiplyWideningAndAdd(a01, Vector256.LoadUnsafe(ref row0, offset + 32), w);
            a02 = AvxVnni.MultiplyWideningAndAdd(a02, Vector256.LoadUnsafe(ref row0, offset + 64), w);
            a03 = AvxVnni.MultiplyWideningAndAdd(a03, Vector256.LoadUnsafe(ref row0, offset + 96), w);
            a10 = AvxVnni.MultiplyWideningAndAdd(a10, Vector256.LoadUnsafe(ref row1, offset), w);
            a11 = AvxVnni.MultiplyWideningAndAdd(a11, Vector256.LoadUnsafe(ref row1, offset + 32), w);
            a12 = AvxVnni.MultiplyWideningAndAdd(a12, Vector256.LoadUnsafe(ref row1, offset + 64), w);
            a13 = AvxVnni.MultiplyWideningAndAdd(a13, Vector256.LoadUnsafe(ref row1, offset + 96), w);
        }
        low = Pool(a00, a01, a10, a11, m);
        high = Pool(a02, a03, a12, a13, m);
    }

    /// <summary>
    /// Maxima of the 2x2 windows of two rows (<paramref name="top0"/>, <paramref name="top1"/> and the bottom pair) of
    /// two vectors each, lane pairs (0, 1), (2, 3) of each vector forming a window's row: of the sums where
    /// requantization is monotone, else of the requantized pixels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector256<int> Pool(Vector256<int> top0, Vector256<int> top1, Vector256<int> bottom0, Vector256<int> bottom1, int m)
    {
        if (!_monotone[m])
        {
            int multiplier = _multipliers[m], shift = _shifts[m];
            top0 = Requantization.MultiplyByQuantizedMultiplier(top0, multiplier, shift);
            top1 = Requantization.MultiplyByQuantizedMultiplier(top1, multiplier, shift);
            bottom0 = Requantization.MultiplyByQuantizedMultiplier(bottom0, multiplier, shift);
            bottom1 = Requantization.MultiplyByQuantizedMultiplier(bottom1, multiplier, shift);
        }
        var v0 = Vector256.Max(top0, bottom0).AsSingle();
        var v1 = Vector256.Max(top1, bottom1).AsSingle();
        // shufps only moves bits: per lane, the even pixels of v0 then v1, and the odd ones.
        return Vector256.Max(Avx.Shuffle(v0, v1, 0b10_00_10_00).AsInt32(), Avx.Shuffle(v0, v1, 0b11_01_11_01).AsInt32());
    }
}
