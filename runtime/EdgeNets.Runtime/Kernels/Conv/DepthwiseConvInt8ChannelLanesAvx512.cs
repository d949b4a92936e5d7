using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 depthwise Conv for AVX-512 with the channels along the lanes, for small maps (the 12x12 to 3x3 maps at the end
/// of a mobile network, where one channel's plane fills 16-pixel blocks poorly and its per-channel set-up dominates).
/// <para>
/// For each group of 16 channels the input planes are transposed into a zero-point-bordered buffer of one 16-byte row
/// per (bordered) input position. Each position then becomes a pair row: 16 int32 lanes, lane c holding channel c of
/// that position and of its right neighbour as two int16 (vpmovsxbw of 32 consecutive bytes, then one vpermw). A
/// kernel row's horizontal taps kw and kw + 1 of an output pixel read the pair row of tap kw, so one vpmaddwd by the
/// channels' (w[kw], w[kw+1]) adds both taps (an odd last tap pairs with a zero weight). Products of raw inputs:
/// the input zero point is folded into the bias (Σ (x − zx)·w = Σ x·w − zx·Σ w, the border holds zx), and a pair sum
/// of two int8 products cannot overflow. Requantization is per lane (each lane one channel); 16 pixels' outputs are
/// transposed back into the channels' planes. Dilation 1 along the width only (the pair rows hold neighbours).
/// </para>
/// </summary>
internal sealed class DepthwiseConvInt8ChannelLanesAvx512 : OpKernel, IParallelWork
{
    private const int Lanes = 16;
    /// <summary>Largest bordered input and output maps the buffers are built for: small maps only.</summary>
    private const int MaxPositions = 1 << 12;

    private readonly string _name;
    private readonly int _x, _y, _groups, _pixels, _inputPixels, _pairsPerRow, _borderedW, _borderedH;
    private readonly Window2d _g;
    /// <summary>Per group, per kernel row, per tap pair: the 16 channels' (w[kw], w[kw+1]) as int16 pairs.</summary>
    private readonly short[] _weights;
    /// <summary>Per channel (16 per group): bias − zx·Σ w.</summary>
    private readonly int[] _bias;
    private readonly LaneRequantization _requantization;
    /// <summary>Per output pixel: the pair row of its first tap.</summary>
    private readonly int[] _pixelRows;
    /// <summary>Per thread part (one without workers): the buffers of the group it runs.</summary>
    private Scratch[] _scratch;
    /// <summary>Below this many multiply-adds a layer runs on the calling thread: a dispatch costs about a thousand.</summary>
    private const long MinParallelMacs = 32_768;
    private WorkerPool? _workers;
    private int _chunks = 1;
    /// <summary>The run that <see cref="RunChunk"/> serves (set only while the workers run).</summary>
    private TensorMemory? _memory;
    private int _image;
    private readonly sbyte _inputZeroPoint;

    private sealed class Scratch
    {
        /// <summary>The group's input planes as one 16-byte row per pixel.</summary>
        public readonly sbyte[] Rows;
        /// <summary>The same rows inside a border of the input zero point (one more column, so every position has a right neighbour).</summary>
        public readonly sbyte[] Bordered;
        /// <summary>One pair row (16 int32 lanes of two int16) per bordered position.</summary>
        public readonly short[] PairRows;
        /// <summary>16 pixels' outputs (a row per pixel), and their transpose (a row per channel) when it cannot go straight to the output.</summary>
        public readonly sbyte[] Tile = new sbyte[Lanes * Lanes], Transposed = new sbyte[Lanes * Lanes];

        public Scratch(int inputPixels, int borderedW, int borderedH, sbyte zeroPoint)
        {
            Rows = new sbyte[inputPixels * Lanes];
            // The border keeps the zero point; only the interior is rewritten per group.
            Bordered = new sbyte[borderedW * borderedH * Lanes];
            Bordered.AsSpan().Fill(zeroPoint);
            PairRows = new short[(borderedW - 1) * borderedH * 2 * Lanes];
        }
    }
    /// <summary>vpermw indices interleaving the two halves of a 32-lane int16 vector: (a0, b0, a1, b1, ...).</summary>
    private static readonly Vector512<short> Interleave = Vector512.Create(
        (short)0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);

    public static bool CanHandle(KernelSetup s)
    {
        if (!ConvInt8Gemm.CanHandle(s, depthwise: true)) return false;
        var g = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32).Window;
        return g.DilationW == 1 && (long)BorderedW(g) * BorderedH(g) <= MaxPositions && (long)g.OutH * g.OutW <= MaxPositions;
    }

    /// <summary>Columns of the bordered input: every tap's column plus the right neighbour of the last.</summary>
    private static int BorderedW(Window2d g) => Math.Max(g.PadLeft + g.W, (g.OutW - 1) * g.StrideW + g.KernelW) + 1;

    private static int BorderedH(Window2d g) => Math.Max(g.PadTop + g.H, (g.OutH - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH + 1);

    public DepthwiseConvInt8ChannelLanesAvx512(KernelSetup s, string name)
    {
        _name = name;
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        var (zx, zeroPoint, multipliers, shifts, min, max) = ConvKernels.Int8Requantization.Read(s, shape.OutChannels);
        _requantization = new LaneRequantization(multipliers, shifts, zeroPoint, min, max);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        var g = _g = shape.Window;
        _pixels = g.OutH * g.OutW;
        _inputPixels = g.H * g.W;
        _groups = (g.C + Lanes - 1) / Lanes;
        _pairsPerRow = (g.KernelW + 1) / 2;
        _borderedW = BorderedW(g);
        _borderedH = BorderedH(g);

        var weights = MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span);
        var bias = s.HasInput(2) ? MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span) : default;
        int lanes = _groups * Lanes, taps = g.KernelH * g.KernelW;
        _weights = new short[_groups * g.KernelH * _pairsPerRow * 2 * Lanes];
        _bias = new int[lanes];
        for (int c = 0; c < g.C; c++)
        {
            int group = c / Lanes, lane = c % Lanes, sum = 0;
            for (int kh = 0; kh < g.KernelH; kh++)
                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    sbyte w = weights[c * taps + kh * g.KernelW + kw];
                    sum += w;
                    _weights[((group * g.KernelH + kh) * _pairsPerRow + kw / 2) * 2 * Lanes + 2 * lane + kw % 2] = w;
                }
            _bias[c] = unchecked((bias.IsEmpty ? 0 : bias[c]) - zx * sum);
        }

        _pixelRows = new int[_pixels];
        for (int oh = 0; oh < g.OutH; oh++)
            for (int ow = 0; ow < g.OutW; ow++)
                _pixelRows[oh * g.OutW + ow] = oh * g.StrideH * (_borderedW - 1) + ow * g.StrideW;
        _inputZeroPoint = (sbyte)zx;
        _scratch = [new Scratch(_inputPixels, _borderedW, _borderedH, _inputZeroPoint)];
    }

    public override string Name => _name;

    internal override bool IsParallel => _workers != null;

    internal override void UseWorkers(WorkerPool workers)
    {
        long macs = (long)_g.C * _pixels * _g.KernelH * _g.KernelW;
        if (macs < MinParallelMacs || _groups < 2) return;
        _workers = workers;
        _chunks = Math.Min(_groups, 2 * workers.Parts);
        _scratch = new Scratch[_chunks];
        for (int i = 0; i < _chunks; i++) _scratch[i] = new Scratch(_inputPixels, _borderedW, _borderedH, _inputZeroPoint);
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
            else Groups(memory, n, 0, _groups, _scratch[0]);
        }
    }

    public void RunChunk(int chunk, int chunks) =>
        Groups(_memory!, _image, _groups * chunk / chunks, _groups * (chunk + 1) / chunks, _scratch[chunk]);

    /// <summary>Channel groups [begin, end) of image n.</summary>
    private void Groups(TensorMemory memory, int n, int begin, int end, Scratch scratch)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        for (int group = begin; group < end; group++)
        {
            int first = group * Lanes, channels = Math.Min(Lanes, _g.C - first);
            int plane = n * _g.C + first;
            LoadRows(x.Slice(plane * _inputPixels, channels * _inputPixels), channels, scratch);
            BuildPairRows(scratch);
            var output = y.Slice(plane * _pixels, channels * _pixels);
            // Blocks of 16 pixels; the last one overlaps its predecessor (a map of fewer than 16 is one short block).
            for (int start = 0; start < _pixels; start += Lanes)
            {
                int block = Math.Max(Math.Min(start, _pixels - Lanes), 0);
                Block(group, block, scratch);
                ChannelLaneTiles.StoreBlock(scratch.Tile, scratch.Transposed, output, channels, _pixels, block);
            }
        }
    }

    /// <summary>The input planes of one group (<paramref name="channels"/> of them) as 16-byte rows inside the border.</summary>
    private void LoadRows(ReadOnlySpan<sbyte> planes, int channels, Scratch scratch)
    {
        var g = _g;
        ChannelLaneTiles.LoadRows(planes, channels, _inputPixels, scratch.Rows);
        ref sbyte rows = ref MemoryMarshal.GetArrayDataReference(scratch.Rows);
        ref sbyte bordered = ref MemoryMarshal.GetArrayDataReference(scratch.Bordered);
        for (int ih = 0; ih < g.H; ih++)
            Unsafe.CopyBlockUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref bordered, ((ih + g.PadTop) * _borderedW + g.PadLeft) * Lanes)),
                ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref rows, ih * g.W * Lanes)), (uint)(g.W * Lanes));
    }

    /// <summary>Each bordered position's pair row: its 16 channels and its right neighbour's, interleaved as int16.</summary>
    private void BuildPairRows(Scratch scratch)
    {
        ref sbyte bordered = ref MemoryMarshal.GetArrayDataReference(scratch.Bordered);
        ref short pairs = ref MemoryMarshal.GetArrayDataReference(scratch.PairRows);
        var interleave = Interleave;
        int w = _borderedW - 1;
        for (int r = 0; r < _borderedH; r++)
            for (int col = 0; col < w; col++)
            {
                var both = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref Unsafe.Add(ref bordered, (r * _borderedW + col) * Lanes)));
                Avx512BW.PermuteVar32x16(both, interleave).StoreUnsafe(ref pairs, (nuint)((r * w + col) * 2 * Lanes));
            }
    }

    /// <summary>The 16 channels of group <paramref name="group"/> at output pixels block .. block + 15 (those of the map) into the scratch tile.</summary>
    private void Block(int group, int block, Scratch scratch)
    {
        var g = _g;
        int count = Math.Min(Lanes, _pixels - block), pairsPerRow = _pairsPerRow, rowStride = (_borderedW - 1) * g.DilationH, lanes = group * Lanes;
        ref short pairRows = ref MemoryMarshal.GetArrayDataReference(scratch.PairRows);
        ref short groupWeights = ref _weights[group * g.KernelH * pairsPerRow * 2 * Lanes];
        ref sbyte tile = ref MemoryMarshal.GetArrayDataReference(scratch.Tile);
        var bias = Vector512.LoadUnsafe(ref _bias[lanes]);
        for (int j = 0; j < count; j++)
        {
            // One pair row is 32 int16; a row of the map has the bordered width − 1 of them.
            int row0 = _pixelRows[block + j];
            var acc = bias;
            ref short w = ref groupWeights;
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                ref short src = ref Unsafe.Add(ref pairRows, (row0 + kh * rowStride) * 2 * Lanes);
                for (int q = 0; q < pairsPerRow; q++, w = ref Unsafe.Add(ref w, 2 * Lanes))
                    acc += Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref src, (nuint)(q * 4 * Lanes)), Vector512.LoadUnsafe(ref w));
            }
            _requantization.Apply(acc, lanes).StoreUnsafe(ref tile, (nuint)(j * Lanes));
        }
    }
}
