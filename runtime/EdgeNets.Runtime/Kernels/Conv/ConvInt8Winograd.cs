using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 Conv 3x3, stride 1, dilation 1, group 1 (2-D) as an exact integer Winograd F(2x2, 3x3): each 2x2 output tile
/// from a 4x4 input tile with 16 multiplications per input channel instead of 36.
/// <para>
/// Transforms, all in integers: U = G'·g·G'ᵀ with G' = 2G = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]] (4× the textbook weight
/// transform, |U| ≤ 9·128 = 1152, int16), V = Bᵀ·d·B on d = x − zx with zero padding (|V| ≤ 4·255 = 1020, int16),
/// M = Σ_c U ⊙ V (16 GEMMs, one per tile position, int16 pairs of input channels multiplied with vpmaddwd / pmaddwd /
/// smlal into int32), Y = Aᵀ·M·A = 4·Σ (x − zx)·w, so Y &gt;&gt; 2 is the reference's sum; then bias and the reference's
/// requantization.
/// </para>
/// <para>
/// Exactness: int32 addition and multiplication wrap, i.e. they are exact modulo 2³², so Y ≡ 4·S (mod 2³²) whatever
/// the intermediate values. Y equals 4·S (and Y &gt;&gt; 2 equals S) when 4·S fits in int32. |S| ≤ C·9·255·128
/// (|x − zx| ≤ 255, |w| ≤ 128), so 4·C·9·32640 ≤ 2³¹ − 1 holds for C ≤ <see cref="MaxInChannels"/>; wider inputs go to
/// the direct kernels. The bias is added after the shift, with the same wrap-around as the reference's sum.
/// </para>
/// <para>
/// Layouts: the transformed input is [position][channel pair][tile][2] int16 (a vector load gives 8 (4) tiles × 2
/// channels), the transformed weights [position][block of 4 output channels][channel pair][4] int32 (one broadcast per
/// output channel). Tiles run row by row over the output; partial tiles at the right and bottom edges compute from the
/// zero border and store only their valid pixels.
/// </para>
/// </summary>
internal sealed class ConvInt8Winograd : OpKernel, IParallelWork
{
    /// <summary>Largest input channel count for which 4× the direct sum always fits in int32 (see the class remarks).</summary>
    public const int MaxInChannels = 1827;
    /// <summary>Output channels per register block of the AVX2 and Vector128 GEMMs (AVX-512, with 32 registers: 8).</summary>
    private const int OcBlock = 4;
    private readonly int _ocBlock;
    /// <summary>Per output channel, the AVX-512 requantization constants (AVX-512 variant only).</summary>
    private readonly QuantizedMultiplier512[] _rescale512 = [];
    /// <summary>Winograd multiply-adds per run below which splitting across threads costs more than it saves.</summary>
    private const long MinParallelMacs = 200_000;

    private readonly string _name;
    private readonly Isa _isa;
    private readonly int _x, _y;
    private readonly Window2d _g;
    private readonly int _channels, _outChannels, _steps, _ocBlocks;
    /// <summary>Tiles per GEMM block: 16 (two Vector256 of int32 per output channel; AVX-512 on maps of 32+ tiles: 32, two Vector512) or 8 (two Vector128).</summary>
    private int _tileBlock;
    private readonly int _tilesH, _tilesW, _tilesWRounded, _tiles, _tileStride;
    /// <summary>Tiles per input-transform step: 8 (Vector256 of channel pairs) or 4 (Vector128).</summary>
    private readonly int _transformTiles;
    private readonly int _paddedH, _halfStride;
    private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max;
    private readonly int[] _multipliers, _shifts, _bias;
    private readonly int[] _packedWeights;
    /// <summary>
    /// The zero-bordered input as x − zx in channel pairs (int16 of channel 2i low, 2i+1 high), split by column parity:
    /// [pair][parity][padded row][padded column / 2]. Column j of a tile row's 4x4 inputs is then one unaligned vector
    /// load per parity, already in the pair layout the GEMM reads.
    /// </summary>
    private readonly int[] _pairPlanes;
    private readonly short[] _transformed;
    /// <summary>Per tile: offset of its top-left output pixel in an output plane.</summary>
    private readonly int[] _tileOffsets;
    /// <summary>Per tile: bit 0 set when it has a second column, bit 1 when it has a second row.</summary>
    private readonly byte[] _tileShapes;
    /// <summary>Per group of 4 tiles: whether they are whole and side by side in one tile row (two 8-byte stores).</summary>
    private readonly bool[] _quadWhole;
    /// <summary>Per chunk: the 16 position products of one output channel block × tile block.</summary>
    private int[] _products;
    private int _chunks = 1;
    private readonly bool _tileBlocksOuter;

    private WorkerPool? _workers;
    private TensorMemory? _memory;
    private int _image;

    /// <summary>
    /// Fused with the MaxPool 2x2 stride 2 that reads the output (<see cref="ConvPoolFusion"/>): each 2x2 output tile is
    /// one pool window, so a tile's pooled value goes straight to pixel t of the pool's output plane, and the Conv's own
    /// output is never written.
    /// </summary>
    private readonly bool _pooled;
    /// <summary>
    /// Pooled: per output channel, where the max of a window's four pixels can be taken. Requantization is monotone
    /// non-decreasing in the accumulator when the multiplier is ≥ 0 and there is no left shift (x·2^left can wrap):
    /// then the window's largest accumulator requantizes to the window's largest value, one requantization per tile
    /// instead of four (<see cref="MaxOfAccumulators"/>). When, besides, adding the bias cannot wrap, the max can go
    /// before the shift and the bias too (<see cref="MaxOfSums"/>). Otherwise each pixel is requantized first.
    /// </summary>
    private readonly byte[] _poolOrder = [];
    /// <summary>AVX2 pooled: per output channel, the requantization constants broadcast once (read for <see cref="MaxOfSums"/> channels).</summary>
    private readonly QuantizedMultiplier256[] _rescale256 = [];
    private const byte RequantizeEach = 0, MaxOfAccumulators = 1, MaxOfSums = 2;

    /// <summary>
    /// Pooled: the position GEMMs of one block of tiles (16 on AVX-512, 8 on AVX2) accumulate in registers, and the output
    /// transform, max and requantization run straight from them (<see cref="PooledInRegisters512"/>,
    /// <see cref="PooledInRegisters256"/>): no position products go through memory, but each input load feeds only 2
    /// (AVX-512) or 1 (AVX2) output channels instead of 8 or 4. Which wins where is measured in
    /// tools/benchmarks/README.md ("Fused Winograd: position GEMMs in registers").
    /// </summary>
    private readonly bool _inRegisters;
    /// <summary>
    /// AVX2 variant on a CPU with AVX-VNNI: the int16 pair products accumulate with vpdpwssd, one instruction for
    /// vpmaddwd and vpaddd (the same sums: |U·V| stays far below the int16 pair products' overflow).
    /// </summary>
    private readonly bool _vnni;
    /// <summary>Largest number of input channel pairs for which <see cref="_inRegisters"/> is chosen on AVX-512 with 32-tile blocks.</summary>
    private const int MaxInRegisterStepsWide = 2;
    /// <summary>Largest number of input channel pairs for which <see cref="_inRegisters"/> is chosen on AVX2.</summary>
    private const int MaxInRegisterStepsAvx2 = 1;
    /// <summary>The weights for <see cref="_inRegisters"/>: [output channel][channel pair][position] int16 pairs.</summary>
    private readonly int[] _channelWeights = [];

    /// <summary>Whether the kernel computes this operator exactly: int8 2-D Conv 3x3, stride 1, dilation 1, group 1, at most <see cref="MaxInChannels"/> input channels.</summary>
    public static bool IsValid(KernelSetup s)
    {
        try
        {
            if (s.InputCount < 2 || s.OutputCount != 1 || !s.HasInput(0) || !s.HasInput(1)) return false;
            if (s.Input(0).Rank != 4) return false;
            var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
            var g = shape.Window;
            return shape.Group == 1 && g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 1 && g.StrideW == 1
                && g.DilationH == 1 && g.DilationW == 1 && g.C <= MaxInChannels && g.OutH > 0 && g.OutW > 0;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <param name="pool">The MaxPool 2x2/2 to fuse (<see cref="ConvPoolFusion.TilesConvOutput"/> must hold), or null.</param>
    public ConvInt8Winograd(KernelSetup s, Isa isa, string name, KernelSetup? pool = null)
    {
        _name = name;
        _isa = isa;
        _ocBlock = isa == Isa.Avx512 ? 8 : OcBlock;
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        (_inputZeroPoint, _outputZeroPoint, _multipliers, _shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, shape.OutChannels);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        _g = shape.Window;
        var g = _g;
        if (pool != null)
        {
            if (!ConvPoolFusion.TilesConvOutput(s, pool, out int poolMin, out int poolMax)) throw s.Fail($"cannot fuse {pool.Op}");
            _pooled = true;
            _y = pool.OutputId(0);
            // clamp(clamp(v, min, max), poolMin, poolMax) is one clamp to these (both are monotone).
            (_min, _max) = (Math.Clamp(_min, poolMin, poolMax), Math.Clamp(_max, poolMin, poolMax));
            _poolOrder = new byte[shape.OutChannels];
            // |sum| ≤ C·9·255·128 (|x − zx| ≤ 255, |w| ≤ 128).
            long largestSum = (long)g.C * 9 * 255 * 128;
            var bias = s.HasInput(2) ? MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span) : default;
            for (int m = 0; m < shape.OutChannels; m++)
            {
                long b = bias.IsEmpty ? 0 : bias[m];
                bool monotone = _multipliers[m] >= 0 && _shifts[m] <= 0;
                _poolOrder[m] = !monotone ? RequantizeEach : Math.Abs(b) + largestSum <= int.MaxValue ? MaxOfSums : MaxOfAccumulators;
            }
        }
        _channels = g.C;
        _outChannels = shape.OutChannels;
        _steps = (_channels + 1) / 2;
        _ocBlocks = (_outChannels + _ocBlock - 1) / _ocBlock;
        _tileBlock = isa == Isa.Vector128 ? 8 : 16;
        _bias = new int[_outChannels];
        if (s.HasInput(2)) MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span).CopyTo(_bias);

        _tilesH = (g.OutH + 1) / 2;
        _tilesW = (g.OutW + 1) / 2;
        _transformTiles = isa == Isa.Vector128 ? 4 : 8;
        _tilesWRounded = (_tilesW + _transformTiles - 1) / _transformTiles * _transformTiles;
        _tiles = _tilesH * _tilesW;
        // AVX-512: 32 tiles per block (two zmm of channel pairs) when there are that many, half the block overhead.
        if (isa == Isa.Avx512 && _tiles >= 32) _tileBlock = 32;
        // The input transform writes whole groups of tiles: a row's last group spills into the next row's first tiles
        // (written afterwards), the last row's into the slack past the tiles.
        int written = (_tilesH - 1) * _tilesW + _tilesWRounded;
        _tileStride = Math.Max((_tiles + _tileBlock - 1) / _tileBlock * _tileBlock, (written + 7) & ~7);
        // Tile (th, tw) reads padded rows 2th..2th+3 (PadTop + H ≤ OutH + 2 ≤ 2·tilesH + 2) and padded columns 2tw..2tw+3,
        // i.e. entries tw and tw + 1 of both parities; PadLeft + W ≤ 2·tilesW + 2 columns.
        _paddedH = 2 * _tilesH + 2;
        _halfStride = _tilesWRounded + 1;
        _pairPlanes = new int[_steps * 2 * _paddedH * _halfStride];
        _transformed = new short[16 * _steps * _tileStride * 2];

        _packedWeights = PackWeights(MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span));

        _tileOffsets = new int[_tiles];
        _tileShapes = new byte[_tiles];
        for (int t = 0; t < _tiles; t++)
        {
            int th = t / _tilesW, tw = t % _tilesW;
            _tileOffsets[t] = 2 * th * g.OutW + 2 * tw;
            _tileShapes[t] = (byte)((2 * tw + 1 < g.OutW ? 1 : 0) | (2 * th + 1 < g.OutH ? 2 : 0));
        }
        _quadWhole = new bool[_tileStride / 4];
        for (int q = 0; q < _quadWhole.Length; q++)
        {
            int t0 = 4 * q;
            bool whole = t0 + 3 < _tiles && t0 / _tilesW == (t0 + 3) / _tilesW;
            for (int t = t0; whole && t < t0 + 4; t++) whole = _tileShapes[t] == 3;
            _quadWhole[q] = whole;
        }
        _products = new int[ProductsLength];
        if (isa == Isa.Avx2 && _pooled)
        {
            _rescale256 = new QuantizedMultiplier256[_outChannels];
            for (int m = 0; m < _outChannels; m++) _rescale256[m] = new QuantizedMultiplier256(_multipliers[m], _shifts[m]);
        }
        if (isa == Isa.Avx512)
        {
            _rescale512 = new QuantizedMultiplier512[_outChannels];
            for (int m = 0; m < _outChannels; m++) _rescale512[m] = new QuantizedMultiplier512(_multipliers[m], _shifts[m]);
        }
        _vnni = isa == Isa.Avx2 && AvxVnni.IsSupported;
        _inRegisters = _pooled && ((isa == Isa.Avx512 && (_tileBlock == 16 || _steps <= MaxInRegisterStepsWide)) || (isa == Isa.Avx2 && _steps <= MaxInRegisterStepsAvx2));
        if (_inRegisters && isa == Isa.Avx512)
        {
            // [pair of output channels][half: positions 0-7, 8-15][channel pair][position % 8][channel of the pair].
            _channelWeights = new int[(_outChannels + 1) / 2 * 2 * _steps * 16];
            for (int m = 0; m < _outChannels; m++)
                for (int step = 0; step < _steps; step++)
                    for (int pos = 0; pos < 16; pos++)
                        _channelWeights[(((m / 2 * 2 + pos / 8) * _steps + step) * 8 + pos % 8) * 2 + m % 2] = PackedWeight(m, step, pos);
        }
        else if (_inRegisters)
        {
            // [pair of output channels][row of M][channel pair][position % 4][channel of the pair].
            _channelWeights = new int[(_outChannels + 1) / 2 * 2 * _steps * 16];
            for (int m = 0; m < _outChannels; m++)
                for (int step = 0; step < _steps; step++)
                    for (int pos = 0; pos < 16; pos++)
                        _channelWeights[(((m / 2 * 4 + pos / 4) * _steps + step) * 4 + pos % 4) * 2 + m % 2] = PackedWeight(m, step, pos);
        }
        // Tile blocks outside when the weights are no larger than the input: a block's input stays in L1 while every
        // output channel block passes over it; otherwise a channel block's weights stay while every tile block passes.
        _tileBlocksOuter = _packedWeights.Length <= _transformed.Length / 2;
    }

    private int ProductsLength => 16 * _ocBlock * _tileBlock;

    private int PackedWeight(int m, int step, int pos) => _packedWeights[((pos * _ocBlocks + m / _ocBlock) * _steps + step) * _ocBlock + m % _ocBlock];

    /// <summary>U = G'·g·G'ᵀ per output and input channel, packed as int16 pairs of input channels per position and block.</summary>
    private int[] PackWeights(ReadOnlySpan<sbyte> weights)
    {
        var transformed = new short[_outChannels * _channels * 16];
        ReadOnlySpan<int> gp = [2, 0, 0, 1, 1, 1, 1, -1, 1, 0, 0, 2];
        Span<int> half = stackalloc int[12];
        for (int m = 0; m < _outChannels; m++)
            for (int c = 0; c < _channels; c++)
            {
                var w = weights.Slice((m * _channels + c) * 9, 9);
                // half = G'·g (4x3), then U = half·G'ᵀ (4x4).
                for (int i = 0; i < 4; i++)
                    for (int b = 0; b < 3; b++)
                        half[i * 3 + b] = gp[i * 3] * w[b] + gp[i * 3 + 1] * w[3 + b] + gp[i * 3 + 2] * w[6 + b];
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++)
                        transformed[(m * _channels + c) * 16 + i * 4 + j] = (short)(half[i * 3] * gp[j * 3] + half[i * 3 + 1] * gp[j * 3 + 1] + half[i * 3 + 2] * gp[j * 3 + 2]);
            }
        var packed = new int[16 * _ocBlocks * _steps * _ocBlock];
        for (int pos = 0; pos < 16; pos++)
            for (int b = 0; b < _ocBlocks; b++)
                for (int step = 0; step < _steps; step++)
                    for (int r = 0; r < _ocBlock; r++)
                    {
                        int m = b * _ocBlock + r, c0 = 2 * step, c1 = c0 + 1;
                        int u0 = m < _outChannels ? transformed[(m * _channels + c0) * 16 + pos] : 0;
                        int u1 = m < _outChannels && c1 < _channels ? transformed[(m * _channels + c1) * 16 + pos] : 0;
                        packed[((pos * _ocBlocks + b) * _steps + step) * _ocBlock + r] = (ushort)u0 | (u1 << 16);
                    }
        return packed;
    }

    public override string Name => _name;

    internal override bool IsParallel => _workers != null;

    internal override void UseWorkers(WorkerPool workers)
    {
        long macs = 16L * _g.N * _outChannels * _steps * 2 * _tileStride;
        if (macs < MinParallelMacs || _ocBlocks < 2) return;
        _workers = workers;
        _chunks = Math.Min(_ocBlocks, 4 * workers.Parts);
        _products = new int[_chunks * ProductsLength];
    }

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var g = _g;
        for (int n = 0; n < g.N; n++)
        {
            var image = x.Slice(n * g.C * g.H * g.W, g.C * g.H * g.W);
            CopyPairs(image);
            if (_transformTiles == 8) TransformInput<Integer256<short>, Vector256<short>>();
            else TransformInput<Integer128<short>, Vector128<short>>();
            if (_workers != null)
            {
                // The transformed input is complete; the threads split the output channel blocks, each reading it only.
                _memory = memory;
                _image = n;
                _workers.Run(this, _chunks);
                _memory = null;
            }
            else Multiply(memory.Write<sbyte>(_y), n, 0, _ocBlocks, 0);
        }
    }

    public void RunChunk(int chunk, int chunks)
    {
        int begin = _ocBlocks * chunk / chunks, end = _ocBlocks * (chunk + 1) / chunks;
        if (begin < end) Multiply(_memory!.Write<sbyte>(_y), _image, begin, end, chunk);
    }

    /// <summary>
    /// Fills the interior of <see cref="_pairPlanes"/> from one image (the border is zero from allocation and never
    /// written): per channel pair and row, 8 columns at a time widened, paired and split by padded column parity.
    /// </summary>
    private void CopyPairs(ReadOnlySpan<sbyte> image)
    {
        var g = _g;
        int planeSize = g.H * g.W, parityStride = _paddedH * _halfStride;
        ref sbyte source = ref MemoryMarshal.GetReference(image);
        ref int pairs = ref MemoryMarshal.GetArrayDataReference(_pairPlanes);
        var zx = Vector128.Create((short)_inputZeroPoint);
        var zx256 = Vector256.Create((short)_inputZeroPoint);
        for (int step = 0; step < _steps; step++)
        {
            int c0 = 2 * step;
            bool pair = c0 + 1 < _channels;
            for (int h = 0; h < g.H; h++)
            {
                ref sbyte first = ref Unsafe.Add(ref source, c0 * planeSize + h * g.W);
                ref sbyte second = ref Unsafe.Add(ref source, (pair ? c0 + 1 : c0) * planeSize + h * g.W);
                ref int row = ref Unsafe.Add(ref pairs, (step * 2 * _paddedH + h + g.PadTop) * _halfStride);
                int w = 0;
                if (Avx2.IsSupported)
                {
                    for (; w + 16 <= g.W; w += 16)
                    {
                        var a = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref Unsafe.Add(ref first, w))) - zx256;
                        var b = pair ? Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref Unsafe.Add(ref second, w))) - zx256 : Vector256<short>.Zero;
                        // In-lane: lo holds the pairs of pixels 0-3 and 8-11, hi those of 4-7 and 12-15.
                        var lo = Avx2.UnpackLow(a, b).AsSingle();
                        var hi = Avx2.UnpackHigh(a, b).AsSingle();
                        // shufps only moves the bits: pixels 0, 2, …, 14 and 1, 3, …, 15 in order.
                        var even = Avx.Shuffle(lo, hi, 0b10_00_10_00).AsInt32();
                        var odd = Avx.Shuffle(lo, hi, 0b11_01_11_01).AsInt32();
                        int column = w + g.PadLeft, parity = column & 1;
                        even.StoreUnsafe(ref Unsafe.Add(ref row, parity * parityStride + (column >> 1)));
                        odd.StoreUnsafe(ref Unsafe.Add(ref row, (1 - parity) * parityStride + ((column + 1) >> 1)));
                    }
                }
                for (; w + 8 <= g.W; w += 8)
                {
                    var a = Vector128.WidenLower(Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref first, w)))).AsSByte()) - zx;
                    var b = pair ? Vector128.WidenLower(Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref second, w)))).AsSByte()) - zx
                        : Vector128<short>.Zero;
                    Int8Im2col.Zip(a, b, out var lo, out var hi);
                    DeinterleavePairs(lo.AsInt32(), hi.AsInt32(), out var even, out var odd);
                    // Columns w, w+2, … of padded column base + k share base's parity; the odd ones have the other.
                    int column = w + g.PadLeft, parity = column & 1;
                    even.StoreUnsafe(ref Unsafe.Add(ref row, parity * parityStride + (column >> 1)));
                    odd.StoreUnsafe(ref Unsafe.Add(ref row, (1 - parity) * parityStride + ((column + 1) >> 1)));
                }
                for (; w < g.W; w++)
                {
                    int column = w + g.PadLeft;
                    int lo = Unsafe.Add(ref first, w) - _inputZeroPoint, hi = pair ? Unsafe.Add(ref second, w) - _inputZeroPoint : 0;
                    Unsafe.Add(ref row, (column & 1) * parityStride + (column >> 1)) = (ushort)lo | (hi << 16);
                }
            }
        }
    }

    /// <summary>even = a0 a2 b0 b2, odd = a1 a3 b1 b3 (int32 lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DeinterleavePairs(Vector128<int> a, Vector128<int> b, out Vector128<int> even, out Vector128<int> odd)
    {
        if (AdvSimd.Arm64.IsSupported)
        {
            even = AdvSimd.Arm64.UnzipEven(a, b);
            odd = AdvSimd.Arm64.UnzipOdd(a, b);
        }
        else if (Sse.IsSupported)
        {
            // shufps only moves the bits.
            even = Sse.Shuffle(a.AsSingle(), b.AsSingle(), 0b10_00_10_00).AsInt32();
            odd = Sse.Shuffle(a.AsSingle(), b.AsSingle(), 0b11_01_11_01).AsInt32();
        }
        else
        {
            even = Vector128.Create(a[0], a[2], b[0], b[2]);
            odd = Vector128.Create(a[1], a[3], b[1], b[3]);
        }
    }

    /// <summary>
    /// V = Bᵀ·d·B for every channel pair and tile, one tile per int32 lane (8 per Vector256 on AVX2 and AVX-512, 4 per
    /// Vector128). Per row r of the 4x4 inputs the column transform (d0 − d2, d1 + d2, d2 − d1, d1 − d3), then the same
    /// down the rows; int16 lanes, so both channels of a pair go through together. Addresses are in int16 values (two
    /// per tile).
    /// </summary>
    private void TransformInput<TV, TVec>() where TV : struct, IIntegerVector<TVec, short> where TVec : struct
    {
        ref short pairs = ref Unsafe.As<int, short>(ref MemoryMarshal.GetArrayDataReference(_pairPlanes));
        ref short transformed = ref MemoryMarshal.GetArrayDataReference(_transformed);
        int tiles = TV.Count / 2;
        nuint position = (nuint)(2 * _steps * _tileStride);
        int parityStride = 2 * _paddedH * _halfStride, rowStride = 2 * _halfStride;
        for (int step = 0; step < _steps; step++)
            for (int th = 0; th < _tilesH; th++)
                for (int tw0 = 0; tw0 < _tilesWRounded; tw0 += tiles)
                {
                    ref short even = ref Unsafe.Add(ref pairs, 2 * ((step * 2 * _paddedH + 2 * th) * _halfStride + tw0));
                    ref short odd = ref Unsafe.Add(ref even, parityStride);
                    Columns<TV, TVec>(ref even, ref odd, out var h00, out var h01, out var h02, out var h03);
                    Columns<TV, TVec>(ref Unsafe.Add(ref even, rowStride), ref Unsafe.Add(ref odd, rowStride), out var h10, out var h11, out var h12, out var h13);
                    Columns<TV, TVec>(ref Unsafe.Add(ref even, 2 * rowStride), ref Unsafe.Add(ref odd, 2 * rowStride), out var h20, out var h21, out var h22, out var h23);
                    Columns<TV, TVec>(ref Unsafe.Add(ref even, 3 * rowStride), ref Unsafe.Add(ref odd, 3 * rowStride), out var h30, out var h31, out var h32, out var h33);
                    ref short d = ref Unsafe.Add(ref transformed, 2 * (step * _tileStride + th * _tilesW + tw0));
                    TV.Store(TV.Subtract(h00, h20), ref d, 0 * position);
                    TV.Store(TV.Subtract(h01, h21), ref d, 1 * position);
                    TV.Store(TV.Subtract(h02, h22), ref d, 2 * position);
                    TV.Store(TV.Subtract(h03, h23), ref d, 3 * position);
                    TV.Store(TV.Add(h10, h20), ref d, 4 * position);
                    TV.Store(TV.Add(h11, h21), ref d, 5 * position);
                    TV.Store(TV.Add(h12, h22), ref d, 6 * position);
                    TV.Store(TV.Add(h13, h23), ref d, 7 * position);
                    TV.Store(TV.Subtract(h20, h10), ref d, 8 * position);
                    TV.Store(TV.Subtract(h21, h11), ref d, 9 * position);
                    TV.Store(TV.Subtract(h22, h12), ref d, 10 * position);
                    TV.Store(TV.Subtract(h23, h13), ref d, 11 * position);
                    TV.Store(TV.Subtract(h10, h30), ref d, 12 * position);
                    TV.Store(TV.Subtract(h11, h31), ref d, 13 * position);
                    TV.Store(TV.Subtract(h12, h32), ref d, 14 * position);
                    TV.Store(TV.Subtract(h13, h33), ref d, 15 * position);
                }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Columns<TV, TVec>(ref short even, ref short odd, out TVec v0, out TVec v1, out TVec v2, out TVec v3)
        where TV : struct, IIntegerVector<TVec, short> where TVec : struct
    {
        // Tile k's columns 0-3 are even[k], odd[k], even[k + 1], odd[k + 1] (int16 pairs).
        var d0 = TV.Load(ref even, 0);
        var d1 = TV.Load(ref odd, 0);
        var d2 = TV.Load(ref even, 2);
        var d3 = TV.Load(ref odd, 2);
        v0 = TV.Subtract(d0, d2);
        v1 = TV.Add(d1, d2);
        v2 = TV.Subtract(d2, d1);
        v3 = TV.Subtract(d1, d3);
    }

    /// <summary>Output channel blocks [blockBegin, blockEnd) of image <paramref name="n"/>: the 16 GEMMs, then the output transform.</summary>
    private void Multiply(Span<sbyte> y, int n, int blockBegin, int blockEnd, int chunk)
    {
        if (_inRegisters)
        {
            MultiplyInRegisters(y, n, blockBegin, blockEnd);
            return;
        }
        var products = _products.AsSpan(chunk * ProductsLength, ProductsLength);
        // Pooled: the pool's output plane has one pixel per tile.
        int planeSize = _pooled ? _tiles : _g.OutH * _g.OutW;
        int tileBlocks = (_tiles + _tileBlock - 1) / _tileBlock, blocks = blockEnd - blockBegin;
        for (int i = 0; i < tileBlocks * blocks; i++)
        {
            // The smaller of the two transformed operands is the one read again and again from cache.
            int b = blockBegin + (_tileBlocksOuter ? i % blocks : i / tileBlocks);
            int t0 = (_tileBlocksOuter ? i / blocks : i % tileBlocks) * _tileBlock;
            switch (_isa)
            {
                case Isa.Avx512:
                    if (_tileBlock == 32) MultiplyAvx512Wide(b, t0, products);
                    else MultiplyAvx512(b, t0, products);
                    for (int r = 0; r < _ocBlock && b * _ocBlock + r < _outChannels; r++)
                    {
                        var plane = y.Slice((n * _outChannels + b * _ocBlock + r) * planeSize, planeSize);
                        if (_pooled)
                        {
                            PooledAvx512(products, r, b * _ocBlock + r, t0, plane);
                            if (_tileBlock == 32) PooledAvx512(products, r, b * _ocBlock + r, t0 + 16, plane);
                            continue;
                        }
                        OutputAvx512(products, r, b * _ocBlock + r, t0, plane);
                        if (_tileBlock == 32) OutputAvx512(products, r, b * _ocBlock + r, t0 + 16, plane);
                    }
                    break;
                case Isa.Avx2:
                    if (_vnni) MultiplyAvx2<PairProductsVnni>(b, t0, products);
                    else MultiplyAvx2<PairProductsAvx2>(b, t0, products);
                    for (int r = 0; r < OcBlock && b * OcBlock + r < _outChannels; r++)
                    {
                        var plane = y.Slice((n * _outChannels + b * OcBlock + r) * planeSize, planeSize);
                        if (_pooled)
                        {
                            PooledAvx2x16(products, r, b * OcBlock + r, t0, plane);
                            continue;
                        }
                        OutputAvx2(products, r, b * OcBlock + r, t0, plane);
                        OutputAvx2(products, r, b * OcBlock + r, t0 + 8, plane);
                    }
                    break;
                default:
                    if (AdvSimd.Arm64.IsSupported) MultiplyNeon(b, t0, products);
                    else MultiplySse(b, t0, products);
                    for (int r = 0; r < OcBlock && b * OcBlock + r < _outChannels; r++)
                    {
                        var plane = y.Slice((n * _outChannels + b * OcBlock + r) * planeSize, planeSize);
                        if (_pooled)
                        {
                            Pooled128(products, r, b * OcBlock + r, t0, plane);
                            Pooled128(products, r, b * OcBlock + r, t0 + 4, plane);
                            continue;
                        }
                        Output128(products, r, b * OcBlock + r, t0, plane);
                        Output128(products, r, b * OcBlock + r, t0 + 4, plane);
                    }
                    break;
            }
        }
    }

    /// <summary>
    /// Pooled, <see cref="_inRegisters"/>: output channels of blocks [blockBegin, blockEnd) of image <paramref name="n"/>,
    /// tile blocks outside (a block's transformed input stays in L1 while every output channel passes over it).
    /// </summary>
    private void MultiplyInRegisters(Span<sbyte> y, int n, int blockBegin, int blockEnd)
    {
        int mBegin = blockBegin * _ocBlock, mEnd = Math.Min(blockEnd * _ocBlock, _outChannels);
        if (_isa == Isa.Avx512)
        {
            // _ocBlock is even: channel pairs never straddle a chunk.
            for (int t0 = 0; t0 < _tiles; t0 += 16)
                for (int m = mBegin; m < mEnd; m += 2)
                    PooledInRegisters512(m, m + 1 < mEnd, t0, y.Slice((n * _outChannels + m) * _tiles));
            return;
        }
        // _ocBlock is even here too.
        for (int t0 = 0; t0 < _tiles; t0 += 8)
            for (int m = mBegin; m < mEnd; m += 2)
            {
                var planes = y.Slice((n * _outChannels + m) * _tiles);
                if (_vnni) PooledInRegisters256<PairProductsVnni>(m, m + 1 < mEnd, t0, planes);
                else PooledInRegisters256<PairProductsAvx2>(m, m + 1 < mEnd, t0, planes);
            }
    }

    /// <summary>
    /// Output channels <paramref name="m"/> and, when <paramref name="second"/>, m + 1, 16 tiles from <paramref name="t0"/>
    /// (AVX-512), <paramref name="planes"/> from channel m's pooled plane. M of 8 positions × 2 channels in 16 zmm
    /// accumulators over the channel pairs (each input load feeds both channels), folded into the 4 parts of Y per
    /// channel (int32 wrap-around: any order of the sums gives Y modulo 2³²); then the other 8 positions; then the pooled
    /// pixels.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PooledInRegisters512(int m, bool second, int t0, Span<sbyte> planes)
    {
        ref short x0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_transformed), t0 * 2);
        ref int w0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_channelWeights), m / 2 * 2 * _steps * 16);
        int steps = _steps;
        nuint stepStride = (nuint)(_tileStride * 2), ps = (nuint)(_steps * _tileStride * 2);
        EightPositions512(ref x0, ref w0, steps, stepStride, ps, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5, out var a6, out var a7,
            out var b0, out var b1, out var b2, out var b3, out var b4, out var b5, out var b6, out var b7);
        // Rows 0 and 1 of M (Mij = position 4i + j): per row c0 = Mi0 + Mi1 + Mi2, c1 = Mi1 − Mi2 − Mi3;
        // Y00 = c0 of rows 0-2, Y01 = c1 of rows 0-2, Y10 = c0 of row 1 − rows 2, 3, Y11 likewise with c1.
        var ya10 = a4 + a5 + a6; var ya11 = a5 - a6 - a7;
        var ya00 = a0 + a1 + a2 + ya10; var ya01 = a1 - a2 - a3 + ya11;
        var yb10 = b4 + b5 + b6; var yb11 = b5 - b6 - b7;
        var yb00 = b0 + b1 + b2 + yb10; var yb01 = b1 - b2 - b3 + yb11;
        EightPositions512(ref Unsafe.Add(ref x0, 8 * ps), ref Unsafe.Add(ref w0, steps * 16), steps, stepStride, ps, out a0, out a1, out a2, out a3, out a4, out a5, out a6, out a7,
            out b0, out b1, out b2, out b3, out b4, out b5, out b6, out b7);
        // Rows 2 and 3.
        var c0 = a0 + a1 + a2; var c1 = a1 - a2 - a3;
        ya00 += c0; ya01 += c1;
        ya10 -= c0 + a4 + a5 + a6; ya11 -= c1 + a5 - a6 - a7;
        c0 = b0 + b1 + b2; c1 = b1 - b2 - b3;
        yb00 += c0; yb01 += c1;
        yb10 -= c0 + b4 + b5 + b6; yb11 -= c1 + b5 - b6 - b7;
        Pool512(ya00, ya01, ya10, ya11, m, t0, planes);
        if (second) Pool512(yb00, yb01, yb10, yb11, m + 1, t0, planes.Slice(_tiles));
    }

    /// <summary>
    /// 8 positions of M × 2 channels for <see cref="PooledInRegisters512"/>: per position k, a_k (channel m) and b_k
    /// (m + 1) summed over the channel pairs; each input load feeds both channels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EightPositions512(ref short x, ref int w, int steps, nuint stepStride, nuint ps,
        out Vector512<int> a0, out Vector512<int> a1, out Vector512<int> a2, out Vector512<int> a3, out Vector512<int> a4, out Vector512<int> a5, out Vector512<int> a6, out Vector512<int> a7,
        out Vector512<int> b0, out Vector512<int> b1, out Vector512<int> b2, out Vector512<int> b3, out Vector512<int> b4, out Vector512<int> b5, out Vector512<int> b6, out Vector512<int> b7)
    {
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = default;
        b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = default;
        Vector512<short> v;
        for (int step = 0; step < steps; step++)
        {
            v = Vector512.LoadUnsafe(ref x);
            a0 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 0)).AsInt16());
            b0 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 1)).AsInt16());
            v = Vector512.LoadUnsafe(ref x, ps);
            a1 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 2)).AsInt16());
            b1 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 3)).AsInt16());
            v = Vector512.LoadUnsafe(ref x, 2 * ps);
            a2 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 4)).AsInt16());
            b2 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 5)).AsInt16());
            v = Vector512.LoadUnsafe(ref x, 3 * ps);
            a3 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 6)).AsInt16());
            b3 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 7)).AsInt16());
            v = Vector512.LoadUnsafe(ref x, 4 * ps);
            a4 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 8)).AsInt16());
            b4 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 9)).AsInt16());
            v = Vector512.LoadUnsafe(ref x, 5 * ps);
            a5 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 10)).AsInt16());
            b5 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 11)).AsInt16());
            v = Vector512.LoadUnsafe(ref x, 6 * ps);
            a6 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 12)).AsInt16());
            b6 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 13)).AsInt16());
            v = Vector512.LoadUnsafe(ref x, 7 * ps);
            a7 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 14)).AsInt16());
            b7 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Create(Unsafe.Add(ref w, 15)).AsInt16());
            x = ref Unsafe.Add(ref x, stepStride);
            w = ref Unsafe.Add(ref w, 16);
        }
    }

    /// <summary>
    /// Output channels <paramref name="m"/> and, when <paramref name="second"/>, m + 1, 8 tiles from <paramref name="t0"/>
    /// (AVX2), <paramref name="planes"/> from channel m's pooled plane: one row of M (4 positions) × 2 channels in 8 ymm
    /// accumulators over the channel pairs (each input load feeds both channels), folded into the 4 parts of Y per channel
    /// (int32 wrap-around: any order of the sums gives Y modulo 2³²); then the next row. 8 accumulators, 8 parts of Y and
    /// the operands fit AVX2's 16 registers, where 16 accumulators would spill.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PooledInRegisters256<TPairs>(int m, bool second, int t0, Span<sbyte> planes) where TPairs : struct, IPairProducts256
    {
        ref short x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_transformed), t0 * 2);
        ref int w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_channelWeights), m / 2 * 2 * _steps * 16);
        int steps = _steps;
        nuint stepStride = (nuint)(_tileStride * 2), ps = (nuint)(_steps * _tileStride * 2);
        // Per row i of M (Mij = position 4i + j): c0 = Mi0 + Mi1 + Mi2, c1 = Mi1 − Mi2 − Mi3; Y00 = c0 of rows 0-2,
        // Y01 = c1 of rows 0-2, Y10 = c0 of row 1 − rows 2, 3, Y11 likewise with c1.
        RowInRegisters<TPairs>(ref x, ref w, steps, stepStride, ps, out var ya00, out var ya01, out var yb00, out var yb01);
        RowInRegisters<TPairs>(ref Unsafe.Add(ref x, 4 * ps), ref Unsafe.Add(ref w, steps * 8), steps, stepStride, ps, out var ya10, out var ya11, out var yb10, out var yb11);
        ya00 += ya10; ya01 += ya11; yb00 += yb10; yb01 += yb11;
        RowInRegisters<TPairs>(ref Unsafe.Add(ref x, 8 * ps), ref Unsafe.Add(ref w, 2 * steps * 8), steps, stepStride, ps, out var ca0, out var ca1, out var cb0, out var cb1);
        ya00 += ca0; ya01 += ca1; yb00 += cb0; yb01 += cb1;
        ya10 -= ca0; ya11 -= ca1; yb10 -= cb0; yb11 -= cb1;
        RowInRegisters<TPairs>(ref Unsafe.Add(ref x, 12 * ps), ref Unsafe.Add(ref w, 3 * steps * 8), steps, stepStride, ps, out ca0, out ca1, out cb0, out cb1);
        ya10 -= ca0; ya11 -= ca1; yb10 -= cb0; yb11 -= cb1;
        var a = PooledValues256(ya00, ya01, ya10, ya11, m);
        var b = second ? PooledValues256(yb00, yb01, yb10, yb11, m + 1) : a;
        var pixels = PackPixels(a, b);
        StorePooled(pixels, 8, t0, planes);
        if (second) StorePooled(Vector128.Create(pixels.AsUInt64().GetElement(1)).AsByte(), 8, t0, planes.Slice(_tiles));
    }

    /// <summary>One row of M for <see cref="PooledInRegisters256"/>: c0 = M0 + M1 + M2 and c1 = M1 − M2 − M3 of both channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowInRegisters<TPairs>(ref short x, ref int w, int steps, nuint stepStride, nuint ps,
        out Vector256<int> ca0, out Vector256<int> ca1, out Vector256<int> cb0, out Vector256<int> cb1) where TPairs : struct, IPairProducts256
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        for (int step = 0; step < steps; step++)
        {
            var v = Vector256.LoadUnsafe(ref x).AsInt16();
            a0 = TPairs.Add(a0, Vector256.Create(Unsafe.Add(ref w, 0)).AsInt16(), v);
            b0 = TPairs.Add(b0, Vector256.Create(Unsafe.Add(ref w, 1)).AsInt16(), v);
            v = Vector256.LoadUnsafe(ref x, ps).AsInt16();
            a1 = TPairs.Add(a1, Vector256.Create(Unsafe.Add(ref w, 2)).AsInt16(), v);
            b1 = TPairs.Add(b1, Vector256.Create(Unsafe.Add(ref w, 3)).AsInt16(), v);
            v = Vector256.LoadUnsafe(ref x, 2 * ps).AsInt16();
            a2 = TPairs.Add(a2, Vector256.Create(Unsafe.Add(ref w, 4)).AsInt16(), v);
            b2 = TPairs.Add(b2, Vector256.Create(Unsafe.Add(ref w, 5)).AsInt16(), v);
            v = Vector256.LoadUnsafe(ref x, 3 * ps).AsInt16();
            a3 = TPairs.Add(a3, Vector256.Create(Unsafe.Add(ref w, 6)).AsInt16(), v);
            b3 = TPairs.Add(b3, Vector256.Create(Unsafe.Add(ref w, 7)).AsInt16(), v);
            x = ref Unsafe.Add(ref x, stepStride);
            w = ref Unsafe.Add(ref w, 8);
        }
        ca0 = a0 + a1 + a2; ca1 = a1 - a2 - a3;
        cb0 = b0 + b1 + b2; cb1 = b1 - b2 - b3;
    }

    /// <summary>
    /// products[(pos·8 + r)·16 + k] = M[pos] of output channel 8b + r and tile t0 + k, for 16 tiles: 16 accumulators
    /// (AVX-512 has 32 registers), so each pair of loads feeds 16 multiply-adds.
    /// </summary>
    private void MultiplyAvx512(int b, int t0, Span<int> products)
    {
        ref short transformed = ref MemoryMarshal.GetArrayDataReference(_transformed);
        ref int packed = ref MemoryMarshal.GetArrayDataReference(_packedWeights);
        ref int output = ref MemoryMarshal.GetReference(products);
        for (int pos = 0; pos < 16; pos++)
            Block8x16(ref Unsafe.Add(ref transformed, (pos * _steps * _tileStride + t0) * 2), ref Unsafe.Add(ref packed, (pos * _ocBlocks + b) * _steps * 8),
                ref Unsafe.Add(ref output, pos * 8 * 16));
    }

    /// <summary>products[(pos·8 + r)·32 + k] for 32 tiles: 8 channels × 2 zmm per position.</summary>
    private void MultiplyAvx512Wide(int b, int t0, Span<int> products)
    {
        ref short transformed = ref MemoryMarshal.GetArrayDataReference(_transformed);
        ref int packed = ref MemoryMarshal.GetArrayDataReference(_packedWeights);
        ref int output = ref MemoryMarshal.GetReference(products);
        for (int pos = 0; pos < 16; pos++)
            Block8x32(ref Unsafe.Add(ref transformed, (pos * _steps * _tileStride + t0) * 2), ref Unsafe.Add(ref packed, (pos * _ocBlocks + b) * _steps * 8),
                ref Unsafe.Add(ref output, pos * 8 * 32));
    }

    /// <summary>One position of <see cref="MultiplyAvx512Wide"/>: 16 zmm accumulators.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Block8x32(ref short col, ref int wk, ref int o)
    {
        int steps = _steps, stride = _tileStride * 2;
        Vector512<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        Vector512<int> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
        for (int step = 0; step < steps; step++)
        {
            var x0 = Vector512.LoadUnsafe(ref col);
            var x1 = Vector512.LoadUnsafe(ref col, 32);
            var w = Vector512.Create(wk).AsInt16();
            a00 += Avx512BW.MultiplyAddAdjacent(x0, w);
            a01 += Avx512BW.MultiplyAddAdjacent(x1, w);
            w = Vector512.Create(Unsafe.Add(ref wk, 1)).AsInt16();
            a10 += Avx512BW.MultiplyAddAdjacent(x0, w);
            a11 += Avx512BW.MultiplyAddAdjacent(x1, w);
            w = Vector512.Create(Unsafe.Add(ref wk, 2)).AsInt16();
            a20 += Avx512BW.MultiplyAddAdjacent(x0, w);
            a21 += Avx512BW.MultiplyAddAdjacent(x1, w);
            w = Vector512.Create(Unsafe.Add(ref wk, 3)).AsInt16();
            a30 += Avx512BW.MultiplyAddAdjacent(x0, w);
            a31 += Avx512BW.MultiplyAddAdjacent(x1, w);
            w = Vector512.Create(Unsafe.Add(ref wk, 4)).AsInt16();
            a40 += Avx512BW.MultiplyAddAdjacent(x0, w);
            a41 += Avx512BW.MultiplyAddAdjacent(x1, w);
            w = Vector512.Create(Unsafe.Add(ref wk, 5)).AsInt16();
            a50 += Avx512BW.MultiplyAddAdjacent(x0, w);
            a51 += Avx512BW.MultiplyAddAdjacent(x1, w);
            w = Vector512.Create(Unsafe.Add(ref wk, 6)).AsInt16();
            a60 += Avx512BW.MultiplyAddAdjacent(x0, w);
            a61 += Avx512BW.MultiplyAddAdjacent(x1, w);
            w = Vector512.Create(Unsafe.Add(ref wk, 7)).AsInt16();
            a70 += Avx512BW.MultiplyAddAdjacent(x0, w);
            a71 += Avx512BW.MultiplyAddAdjacent(x1, w);
            col = ref Unsafe.Add(ref col, stride);
            wk = ref Unsafe.Add(ref wk, 8);
        }
        a00.StoreUnsafe(ref o, 0); a01.StoreUnsafe(ref o, 16);
        a10.StoreUnsafe(ref o, 32); a11.StoreUnsafe(ref o, 48);
        a20.StoreUnsafe(ref o, 64); a21.StoreUnsafe(ref o, 80);
        a30.StoreUnsafe(ref o, 96); a31.StoreUnsafe(ref o, 112);
        a40.StoreUnsafe(ref o, 128); a41.StoreUnsafe(ref o, 144);
        a50.StoreUnsafe(ref o, 160); a51.StoreUnsafe(ref o, 176);
        a60.StoreUnsafe(ref o, 192); a61.StoreUnsafe(ref o, 208);
        a70.StoreUnsafe(ref o, 224); a71.StoreUnsafe(ref o, 240);
    }

    /// <summary>One position of <see cref="MultiplyAvx512"/> (a method of its own so its 16 accumulators get registers).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Block8x16(ref short col, ref int wk, ref int o)
    {
        int steps = _steps, stride = _tileStride * 2;
        Vector256<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        Vector256<int> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
        for (int step = 0; step < steps; step++)
        {
            var x0 = Vector256.LoadUnsafe(ref col);
            var x1 = Vector256.LoadUnsafe(ref col, 16);
            var w = Vector256.Create(wk).AsInt16();
            a00 += Avx2.MultiplyAddAdjacent(x0, w);
            a01 += Avx2.MultiplyAddAdjacent(x1, w);
            w = Vector256.Create(Unsafe.Add(ref wk, 1)).AsInt16();
            a10 += Avx2.MultiplyAddAdjacent(x0, w);
            a11 += Avx2.MultiplyAddAdjacent(x1, w);
            w = Vector256.Create(Unsafe.Add(ref wk, 2)).AsInt16();
            a20 += Avx2.MultiplyAddAdjacent(x0, w);
            a21 += Avx2.MultiplyAddAdjacent(x1, w);
            w = Vector256.Create(Unsafe.Add(ref wk, 3)).AsInt16();
            a30 += Avx2.MultiplyAddAdjacent(x0, w);
            a31 += Avx2.MultiplyAddAdjacent(x1, w);
            w = Vector256.Create(Unsafe.Add(ref wk, 4)).AsInt16();
            a40 += Avx2.MultiplyAddAdjacent(x0, w);
            a41 += Avx2.MultiplyAddAdjacent(x1, w);
            w = Vector256.Create(Unsafe.Add(ref wk, 5)).AsInt16();
            a50 += Avx2.MultiplyAddAdjacent(x0, w);
            a51 += Avx2.MultiplyAddAdjacent(x1, w);
            w = Vector256.Create(Unsafe.Add(ref wk, 6)).AsInt16();
            a60 += Avx2.MultiplyAddAdjacent(x0, w);
            a61 += Avx2.MultiplyAddAdjacent(x1, w);
            w = Vector256.Create(Unsafe.Add(ref wk, 7)).AsInt16();
            a70 += Avx2.MultiplyAddAdjacent(x0, w);
            a71 += Avx2.MultiplyAddAdjacent(x1, w);
            col = ref Unsafe.Add(ref col, stride);
            wk = ref Unsafe.Add(ref wk, 8);
        }
        a00.StoreUnsafe(ref o, 0); a01.StoreUnsafe(ref o, 8);
        a10.StoreUnsafe(ref o, 16); a11.StoreUnsafe(ref o, 24);
        a20.StoreUnsafe(ref o, 32); a21.StoreUnsafe(ref o, 40);
        a30.StoreUnsafe(ref o, 48); a31.StoreUnsafe(ref o, 56);
        a40.StoreUnsafe(ref o, 64); a41.StoreUnsafe(ref o, 72);
        a50.StoreUnsafe(ref o, 80); a51.StoreUnsafe(ref o, 88);
        a60.StoreUnsafe(ref o, 96); a61.StoreUnsafe(ref o, 104);
        a70.StoreUnsafe(ref o, 112); a71.StoreUnsafe(ref o, 120);
    }

    /// <summary>
    /// Y = Aᵀ·M·A: four times the sums of the four pixels of 16 tiles (one per lane) of block row <paramref name="r"/>
    /// from <paramref name="t0"/>. The reference's accumulator is Y &gt;&gt; 2 plus the bias (<see cref="Accumulator(Vector512{int}, Vector512{int})"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Sums512(Span<int> products, int r, int m, int t0,
        out Vector512<int> a00, out Vector512<int> a01, out Vector512<int> a10, out Vector512<int> a11)
    {
        ref int p = ref Unsafe.Add(ref MemoryMarshal.GetReference(products), r * _tileBlock + (t0 & (_tileBlock - 1)));
        nuint pos = (nuint)(8 * _tileBlock);
        OutputTransform<Integer512<int>, Vector512<int>>(ref p, pos, out a00, out a01, out a10, out a11);
    }

    /// <summary>
    /// Y = Aᵀ·M·A from the 16 positions' products at <paramref name="p"/>, <paramref name="pos"/> apart, one tile per lane:
    /// Aᵀ·M is s0j = M0j + M1j + M2j, s1j = M1j − M2j − M3j (Mij = position 4i + j), then the same along the columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputTransform<TV, TVec>(ref int p, nuint pos, out TVec a00, out TVec a01, out TVec a10, out TVec a11)
        where TV : struct, IIntegerVector<TVec, int> where TVec : struct
    {
        var m0 = TV.Load(ref p, 0 * pos); var m4 = TV.Load(ref p, 4 * pos);
        var m8 = TV.Load(ref p, 8 * pos); var m12 = TV.Load(ref p, 12 * pos);
        var s00 = TV.Add(TV.Add(m0, m4), m8); var s10 = TV.Subtract(TV.Subtract(m4, m8), m12);
        var m1 = TV.Load(ref p, 1 * pos); var m5 = TV.Load(ref p, 5 * pos);
        var m9 = TV.Load(ref p, 9 * pos); var m13 = TV.Load(ref p, 13 * pos);
        var s01 = TV.Add(TV.Add(m1, m5), m9); var s11 = TV.Subtract(TV.Subtract(m5, m9), m13);
        var m2 = TV.Load(ref p, 2 * pos); var m6 = TV.Load(ref p, 6 * pos);
        var m10 = TV.Load(ref p, 10 * pos); var m14 = TV.Load(ref p, 14 * pos);
        var s02 = TV.Add(TV.Add(m2, m6), m10); var s12 = TV.Subtract(TV.Subtract(m6, m10), m14);
        var m3 = TV.Load(ref p, 3 * pos); var m7 = TV.Load(ref p, 7 * pos);
        var m11 = TV.Load(ref p, 11 * pos); var m15 = TV.Load(ref p, 15 * pos);
        var s03 = TV.Add(TV.Add(m3, m7), m11); var s13 = TV.Subtract(TV.Subtract(m7, m11), m15);
        a00 = TV.Add(TV.Add(s00, s01), s02);
        a01 = TV.Subtract(TV.Subtract(s01, s02), s03);
        a10 = TV.Add(TV.Add(s10, s11), s12);
        a11 = TV.Subtract(TV.Subtract(s11, s12), s13);
    }

    /// <summary>The reference's accumulator from Y = 4·sum: Y &gt;&gt; 2 (exact) plus the bias, wrapping as the reference does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Accumulator(Vector512<int> y, Vector512<int> bias) => Vector512.ShiftRightArithmetic(y, 2) + bias;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Accumulator(Vector256<int> y, Vector256<int> bias) => Vector256.ShiftRightArithmetic(y, 2) + bias;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Accumulator(Vector128<int> y, Vector128<int> bias) => Vector128.ShiftRightArithmetic(y, 2) + bias;

    /// <summary>Y = Aᵀ·M·A of 16 tiles from <paramref name="t0"/> for block row <paramref name="r"/> in 512-bit vectors, requantized and stored.</summary>
    private void OutputAvx512(Span<int> products, int r, int m, int t0, Span<sbyte> plane)
    {
        if (t0 >= _tiles) return;
        Sums512(products, r, m, t0, out var y00, out var y01, out var y10, out var y11);
        var bias = Vector512.Create(_bias[m]);
        var a00 = Accumulator(y00, bias); var a01 = Accumulator(y01, bias);
        var a10 = Accumulator(y10, bias); var a11 = Accumulator(y11, bias);
        ref readonly var rescale = ref _rescale512[m];
        var zero = Vector512.Create(_outputZeroPoint);
        var min = Vector512.Create(_min);
        var max = Vector512.Create(_max);
        var q00 = Requantization.ToOutputRange(rescale.Apply(a00), zero, min, max);
        var q01 = Requantization.ToOutputRange(rescale.Apply(a01), zero, min, max);
        var q10 = Requantization.ToOutputRange(rescale.Apply(a10), zero, min, max);
        var q11 = Requantization.ToOutputRange(rescale.Apply(a11), zero, min, max);
        // Per tile, its two pixels of a row as the low 16 bits of an int32 lane; vpmovdw keeps them.
        var mask = Vector512.Create(0xFF);
        var top = Avx512F.ConvertToVector256Int16((q00 & mask) | (q01 << 8)).AsByte();
        var bottom = Avx512F.ConvertToVector256Int16((q10 & mask) | (q11 << 8)).AsByte();
        StoreQuad(top.GetLower(), 0, bottom.GetLower(), 0, t0, plane);
        StoreQuad(top.GetLower(), 8, bottom.GetLower(), 8, t0 + 4, plane);
        StoreQuad(top.GetUpper(), 0, bottom.GetUpper(), 0, t0 + 8, plane);
        StoreQuad(top.GetUpper(), 8, bottom.GetUpper(), 8, t0 + 12, plane);
    }

    /// <summary>The pooled pixels of 16 tiles from <paramref name="t0"/> (AVX-512): the largest of each tile's four, requantized.</summary>
    private void PooledAvx512(Span<int> products, int r, int m, int t0, Span<sbyte> plane)
    {
        if (t0 >= _tiles) return;
        Sums512(products, r, m, t0, out var y00, out var y01, out var y10, out var y11);
        Pool512(y00, y01, y10, y11, m, t0, plane);
    }

    /// <summary>From Y (four times the sums of each tile's four pixels) of 16 tiles, the pooled pixels, stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Pool512(Vector512<int> y00, Vector512<int> y01, Vector512<int> y10, Vector512<int> y11, int m, int t0, Span<sbyte> plane)
    {
        var bias = Vector512.Create(_bias[m]);
        ref readonly var rescale = ref _rescale512[m];
        Vector512<int> y;
        int order = _poolOrder[m];
        if (order == MaxOfSums) y = rescale.Apply(Accumulator(Vector512.Max(Vector512.Max(y00, y01), Vector512.Max(y10, y11)), bias));
        else
        {
            var a00 = Accumulator(y00, bias); var a01 = Accumulator(y01, bias);
            var a10 = Accumulator(y10, bias); var a11 = Accumulator(y11, bias);
            if (order == MaxOfAccumulators) y = rescale.Apply(Vector512.Max(Vector512.Max(a00, a01), Vector512.Max(a10, a11)));
            else y = Vector512.Max(Vector512.Max(rescale.Apply(a00), rescale.Apply(a01)), Vector512.Max(rescale.Apply(a10), rescale.Apply(a11)));
        }
        y = Requantization.ToOutputRange(y, Vector512.Create(_outputZeroPoint), Vector512.Create(_min), Vector512.Create(_max));
        // vpmovdb truncates; the values are int8 already.
        StorePooled(Avx512F.ConvertToVector128SByte(y).AsByte(), 16, t0, plane);
    }

    /// <summary>products[(pos·4 + r)·16 + k] = M[pos] of output channel 4b + r and tile t0 + k, for 16 tiles.</summary>
    private void MultiplyAvx2<TPairs>(int b, int t0, Span<int> products) where TPairs : struct, IPairProducts256
    {
        int steps = _steps;
        nint stride = _tileStride * 2, positionStride = steps * stride, weightStride = _ocBlocks * steps * OcBlock;
        ref short position = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_transformed), t0 * 2);
        ref int positionWeights = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_packedWeights), b * steps * OcBlock);
        ref int o = ref MemoryMarshal.GetReference(products);
        for (int pos = 0; pos < 16; pos++)
        {
            ref short col = ref position;
            ref int wk = ref positionWeights;
            Vector256<int> a00 = default, a01 = default, a10 = default, a11 = default;
            Vector256<int> a20 = default, a21 = default, a30 = default, a31 = default;
            for (int step = 0; step < steps; step++)
            {
                var x0 = Vector256.LoadUnsafe(ref col);
                var x1 = Vector256.LoadUnsafe(ref col, 16);
                var w0 = Vector256.Create(wk).AsInt16();
                var w1 = Vector256.Create(Unsafe.Add(ref wk, 1)).AsInt16();
                a00 = TPairs.Add(a00, w0, x0);
                a01 = TPairs.Add(a01, w0, x1);
                a10 = TPairs.Add(a10, w1, x0);
                a11 = TPairs.Add(a11, w1, x1);
                var w2 = Vector256.Create(Unsafe.Add(ref wk, 2)).AsInt16();
                var w3 = Vector256.Create(Unsafe.Add(ref wk, 3)).AsInt16();
                a20 = TPairs.Add(a20, w2, x0);
                a21 = TPairs.Add(a21, w2, x1);
                a30 = TPairs.Add(a30, w3, x0);
                a31 = TPairs.Add(a31, w3, x1);
                col = ref Unsafe.Add(ref col, stride);
                wk = ref Unsafe.Add(ref wk, OcBlock);
            }
            a00.StoreUnsafe(ref o, 0); a01.StoreUnsafe(ref o, 8);
            a10.StoreUnsafe(ref o, 16); a11.StoreUnsafe(ref o, 24);
            a20.StoreUnsafe(ref o, 32); a21.StoreUnsafe(ref o, 40);
            a30.StoreUnsafe(ref o, 48); a31.StoreUnsafe(ref o, 56);
            o = ref Unsafe.Add(ref o, OcBlock * 16);
            position = ref Unsafe.Add(ref position, positionStride);
            positionWeights = ref Unsafe.Add(ref positionWeights, weightStride);
        }
    }

    /// <summary>products[(pos·4 + r)·8 + k] for 8 tiles with pmaddwd.</summary>
    private void MultiplySse(int b, int t0, Span<int> products)
    {
        ref short transformed = ref MemoryMarshal.GetArrayDataReference(_transformed);
        ref int packed = ref MemoryMarshal.GetArrayDataReference(_packedWeights);
        ref int output = ref MemoryMarshal.GetReference(products);
        int steps = _steps, stride = _tileStride * 2;
        for (int pos = 0; pos < 16; pos++)
        {
            ref short col = ref Unsafe.Add(ref transformed, (pos * steps * _tileStride + t0) * 2);
            ref int wk = ref Unsafe.Add(ref packed, (pos * _ocBlocks + b) * steps * OcBlock);
            Vector128<int> a00 = default, a01 = default, a10 = default, a11 = default;
            Vector128<int> a20 = default, a21 = default, a30 = default, a31 = default;
            for (int step = 0; step < steps; step++)
            {
                var x0 = Vector128.LoadUnsafe(ref col);
                var x1 = Vector128.LoadUnsafe(ref col, 8);
                var w0 = Vector128.Create(wk).AsInt16();
                var w1 = Vector128.Create(Unsafe.Add(ref wk, 1)).AsInt16();
                a00 += Sse2.MultiplyAddAdjacent(x0, w0);
                a01 += Sse2.MultiplyAddAdjacent(x1, w0);
                a10 += Sse2.MultiplyAddAdjacent(x0, w1);
                a11 += Sse2.MultiplyAddAdjacent(x1, w1);
                var w2 = Vector128.Create(Unsafe.Add(ref wk, 2)).AsInt16();
                var w3 = Vector128.Create(Unsafe.Add(ref wk, 3)).AsInt16();
                a20 += Sse2.MultiplyAddAdjacent(x0, w2);
                a21 += Sse2.MultiplyAddAdjacent(x1, w2);
                a30 += Sse2.MultiplyAddAdjacent(x0, w3);
                a31 += Sse2.MultiplyAddAdjacent(x1, w3);
                col = ref Unsafe.Add(ref col, stride);
                wk = ref Unsafe.Add(ref wk, OcBlock);
            }
            ref int o = ref Unsafe.Add(ref output, pos * OcBlock * 8);
            a00.StoreUnsafe(ref o, 0); a01.StoreUnsafe(ref o, 4);
            a10.StoreUnsafe(ref o, 8); a11.StoreUnsafe(ref o, 12);
            a20.StoreUnsafe(ref o, 16); a21.StoreUnsafe(ref o, 20);
            a30.StoreUnsafe(ref o, 24); a31.StoreUnsafe(ref o, 28);
        }
    }

    /// <summary>
    /// products[(pos·4 + r)·8 + k] for 8 tiles with smlal/smlal2: the two channels of a pair stay in separate lanes
    /// across the sum, one pairwise add at the end folds them.
    /// </summary>
    private void MultiplyNeon(int b, int t0, Span<int> products)
    {
        ref short transformed = ref MemoryMarshal.GetArrayDataReference(_transformed);
        ref int packed = ref MemoryMarshal.GetArrayDataReference(_packedWeights);
        ref int output = ref MemoryMarshal.GetReference(products);
        int steps = _steps, stride = _tileStride * 2;
        for (int pos = 0; pos < 16; pos++)
        {
            ref short col = ref Unsafe.Add(ref transformed, (pos * steps * _tileStride + t0) * 2);
            ref int wk = ref Unsafe.Add(ref packed, (pos * _ocBlocks + b) * steps * OcBlock);
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector128<int> b0 = default, b1 = default, b2 = default, b3 = default;
            Vector128<int> c0 = default, c1 = default, c2 = default, c3 = default;
            Vector128<int> d0 = default, d1 = default, d2 = default, d3 = default;
            for (int step = 0; step < steps; step++)
            {
                var x0 = Vector128.LoadUnsafe(ref col);
                var x1 = Vector128.LoadUnsafe(ref col, 8);
                var x0l = x0.GetLower();
                var x1l = x1.GetLower();
                var w0 = Vector128.Create(wk).AsInt16();
                a0 = AdvSimd.MultiplyWideningLowerAndAdd(a0, x0l, w0.GetLower());
                a1 = AdvSimd.MultiplyWideningUpperAndAdd(a1, x0, w0);
                a2 = AdvSimd.MultiplyWideningLowerAndAdd(a2, x1l, w0.GetLower());
                a3 = AdvSimd.MultiplyWideningUpperAndAdd(a3, x1, w0);
                var w1 = Vector128.Create(Unsafe.Add(ref wk, 1)).AsInt16();
                b0 = AdvSimd.MultiplyWideningLowerAndAdd(b0, x0l, w1.GetLower());
                b1 = AdvSimd.MultiplyWideningUpperAndAdd(b1, x0, w1);
                b2 = AdvSimd.MultiplyWideningLowerAndAdd(b2, x1l, w1.GetLower());
                b3 = AdvSimd.MultiplyWideningUpperAndAdd(b3, x1, w1);
                var w2 = Vector128.Create(Unsafe.Add(ref wk, 2)).AsInt16();
                c0 = AdvSimd.MultiplyWideningLowerAndAdd(c0, x0l, w2.GetLower());
                c1 = AdvSimd.MultiplyWideningUpperAndAdd(c1, x0, w2);
                c2 = AdvSimd.MultiplyWideningLowerAndAdd(c2, x1l, w2.GetLower());
                c3 = AdvSimd.MultiplyWideningUpperAndAdd(c3, x1, w2);
                var w3 = Vector128.Create(Unsafe.Add(ref wk, 3)).AsInt16();
                d0 = AdvSimd.MultiplyWideningLowerAndAdd(d0, x0l, w3.GetLower());
                d1 = AdvSimd.MultiplyWideningUpperAndAdd(d1, x0, w3);
                d2 = AdvSimd.MultiplyWideningLowerAndAdd(d2, x1l, w3.GetLower());
                d3 = AdvSimd.MultiplyWideningUpperAndAdd(d3, x1, w3);
                col = ref Unsafe.Add(ref col, stride);
                wk = ref Unsafe.Add(ref wk, OcBlock);
            }
            ref int o = ref Unsafe.Add(ref output, pos * OcBlock * 8);
            AdvSimd.Arm64.AddPairwise(a0, a1).StoreUnsafe(ref o, 0); AdvSimd.Arm64.AddPairwise(a2, a3).StoreUnsafe(ref o, 4);
            AdvSimd.Arm64.AddPairwise(b0, b1).StoreUnsafe(ref o, 8); AdvSimd.Arm64.AddPairwise(b2, b3).StoreUnsafe(ref o, 12);
            AdvSimd.Arm64.AddPairwise(c0, c1).StoreUnsafe(ref o, 16); AdvSimd.Arm64.AddPairwise(c2, c3).StoreUnsafe(ref o, 20);
            AdvSimd.Arm64.AddPairwise(d0, d1).StoreUnsafe(ref o, 24); AdvSimd.Arm64.AddPairwise(d2, d3).StoreUnsafe(ref o, 28);
        }
    }

    /// <summary>Y = Aᵀ·M·A, four times the sums of the four pixels of 8 tiles (one per lane) from <paramref name="t0"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SumsAvx2(Span<int> products, int r, int m, int t0,
        out Vector256<int> a00, out Vector256<int> a01, out Vector256<int> a10, out Vector256<int> a11)
    {
        ref int p = ref Unsafe.Add(ref MemoryMarshal.GetReference(products), r * 16 + (t0 & 15));
        const int pos = OcBlock * 16;
        OutputTransform<Integer256<int>, Vector256<int>>(ref p, (nuint)pos, out a00, out a01, out a10, out a11);
    }

    /// <summary>Y = Aᵀ·M·A of 8 tiles from <paramref name="t0"/> for block row <paramref name="r"/>, requantized and stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void OutputAvx2(Span<int> products, int r, int m, int t0, Span<sbyte> plane)
    {
        if (t0 >= _tiles) return;
        SumsAvx2(products, r, m, t0, out var y00, out var y01, out var y10, out var y11);
        var bias = Vector256.Create(_bias[m]);
        var a00 = Accumulator(y00, bias); var a01 = Accumulator(y01, bias);
        var a10 = Accumulator(y10, bias); var a11 = Accumulator(y11, bias);
        int multiplier = _multipliers[m], shift = _shifts[m];
        var zero = Vector256.Create(_outputZeroPoint);
        var min = Vector256.Create(_min);
        var max = Vector256.Create(_max);
        var q00 = Requantization.Requantize(a00, multiplier, shift, zero, min, max);
        var q01 = Requantization.Requantize(a01, multiplier, shift, zero, min, max);
        var q10 = Requantization.Requantize(a10, multiplier, shift, zero, min, max);
        var q11 = Requantization.Requantize(a11, multiplier, shift, zero, min, max);
        // Per tile, its two pixels of a row as the low 16 bits of an int32 lane; the truncating narrow keeps them.
        var mask = Vector256.Create(0xFF);
        var rows = Vector256.Narrow((q00 & mask) | (q01 << 8), (q10 & mask) | (q11 << 8)).AsByte();
        // Bytes 0-15: the top rows of the 8 tiles, 16-31: their bottom rows.
        StoreQuad(rows.GetLower(), 0, rows.GetUpper(), 0, t0, plane);
        StoreQuad(rows.GetLower(), 8, rows.GetUpper(), 8, t0 + 4, plane);
    }

    /// <summary>Y = Aᵀ·M·A, four times the sums of the four pixels of 4 tiles (one per lane) from <paramref name="t0"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Sums128(Span<int> products, int r, int m, int t0,
        out Vector128<int> a00, out Vector128<int> a01, out Vector128<int> a10, out Vector128<int> a11)
    {
        ref int p = ref Unsafe.Add(ref MemoryMarshal.GetReference(products), r * 8 + (t0 & 7));
        const int pos = OcBlock * 8;
        OutputTransform<Integer128<int>, Vector128<int>>(ref p, (nuint)pos, out a00, out a01, out a10, out a11);
    }

    /// <summary>Y of 4 tiles from <paramref name="t0"/> (Vector128), requantized and stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Output128(Span<int> products, int r, int m, int t0, Span<sbyte> plane)
    {
        if (t0 >= _tiles) return;
        Sums128(products, r, m, t0, out var y00, out var y01, out var y10, out var y11);
        var bias = Vector128.Create(_bias[m]);
        var a00 = Accumulator(y00, bias); var a01 = Accumulator(y01, bias);
        var a10 = Accumulator(y10, bias); var a11 = Accumulator(y11, bias);
        int multiplier = _multipliers[m], shift = _shifts[m];
        var zero = Vector128.Create(_outputZeroPoint);
        var min = Vector128.Create(_min);
        var max = Vector128.Create(_max);
        var q00 = Requantization.Requantize(a00, multiplier, shift, zero, min, max);
        var q01 = Requantization.Requantize(a01, multiplier, shift, zero, min, max);
        var q10 = Requantization.Requantize(a10, multiplier, shift, zero, min, max);
        var q11 = Requantization.Requantize(a11, multiplier, shift, zero, min, max);
        var mask = Vector128.Create(0xFF);
        var rows = Vector128.Narrow((q00 & mask) | (q01 << 8), (q10 & mask) | (q11 << 8)).AsByte();
        // Bytes 0-7: the top rows of the 4 tiles, 8-15: their bottom rows.
        StoreQuad(rows, 0, rows, 8, t0, plane);
    }

    /// <summary>The pooled pixels of 8 tiles from <paramref name="t0"/> (AVX2): the largest of each tile's four, requantized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PooledAvx2(Span<int> products, int r, int m, int t0, Span<sbyte> plane)
    {
        if (t0 >= _tiles) return;
        SumsAvx2(products, r, m, t0, out var y00, out var y01, out var y10, out var y11);
        var y = PooledValues256(y00, y01, y10, y11, m);
        var words = Vector128.Narrow(y.GetLower(), y.GetUpper());
        StorePooled(Vector128.Narrow(words, words).AsByte(), 8, t0, plane);
    }

    /// <summary>
    /// The pooled pixels of 16 tiles from <paramref name="t0"/> (AVX2), as two <see cref="PooledAvx2"/> whose
    /// requantization constants and byte packing are shared; the products past the last tile are computed, not stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PooledAvx2x16(Span<int> products, int r, int m, int t0, Span<sbyte> plane)
    {
        if (_poolOrder[m] != MaxOfSums || t0 + 8 >= _tiles)
        {
            PooledAvx2(products, r, m, t0, plane);
            PooledAvx2(products, r, m, t0 + 8, plane);
            return;
        }
        SumsAvx2(products, r, m, t0, out var y00, out var y01, out var y10, out var y11);
        var low = Vector256.Max(Vector256.Max(y00, y01), Vector256.Max(y10, y11));
        SumsAvx2(products, r, m, t0 + 8, out y00, out y01, out y10, out y11);
        var high = Vector256.Max(Vector256.Max(y00, y01), Vector256.Max(y10, y11));
        ref readonly var rescale = ref _rescale256[m];
        var bias = Vector256.Create(_bias[m]);
        var zero = Vector256.Create(_outputZeroPoint);
        var min = Vector256.Create(_min);
        var max = Vector256.Create(_max);
        low = Requantization.ToOutputRange(rescale.Apply(Accumulator(low, bias)), zero, min, max);
        high = Requantization.ToOutputRange(rescale.Apply(Accumulator(high, bias)), zero, min, max);
        StorePooled(PackPixels(low, high), 16, t0, plane);
    }

    /// <summary>Bytes 0-7: the lanes of <paramref name="a"/>, 8-15: those of <paramref name="b"/> (int8 values already: the saturating packs keep them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> PackPixels(Vector256<int> a, Vector256<int> b)
    {
        // In-lane packs leave the int32 lanes (4 bytes each) as a0-3, b0-3, a0-3, b0-3 | a4-7, b4-7, a4-7, b4-7.
        var words = Avx2.PackSignedSaturate(a, b);
        var bytes = Avx2.PackSignedSaturate(words, words);
        return Avx2.PermuteVar8x32(bytes.AsInt32(), Vector256.Create(0, 4, 1, 5, 0, 4, 1, 5)).GetLower().AsByte();
    }

    /// <summary>From Y (four times the sums of each tile's four pixels) of 8 tiles, the pooled pixels as int32 lanes (the steps of <see cref="PooledAvx2"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector256<int> PooledValues256(Vector256<int> y00, Vector256<int> y01, Vector256<int> y10, Vector256<int> y11, int m)
    {
        var bias = Vector256.Create(_bias[m]);
        int multiplier = _multipliers[m], shift = _shifts[m];
        Vector256<int> y;
        int order = _poolOrder[m];
        if (order == MaxOfSums) y = Requantization.MultiplyByQuantizedMultiplier(Accumulator(Vector256.Max(Vector256.Max(y00, y01), Vector256.Max(y10, y11)), bias), multiplier, shift);
        else
        {
            var a00 = Accumulator(y00, bias); var a01 = Accumulator(y01, bias);
            var a10 = Accumulator(y10, bias); var a11 = Accumulator(y11, bias);
            if (order == MaxOfAccumulators) y = Requantization.MultiplyByQuantizedMultiplier(Vector256.Max(Vector256.Max(a00, a01), Vector256.Max(a10, a11)), multiplier, shift);
            else y = Vector256.Max(Vector256.Max(Requantization.MultiplyByQuantizedMultiplier(a00, multiplier, shift), Requantization.MultiplyByQuantizedMultiplier(a01, multiplier, shift)), Vector256.Max(Requantization.MultiplyByQuantizedMultiplier(a10, multiplier, shift), Requantization.MultiplyByQuantizedMultiplier(a11, multiplier, shift)));
        }
        return Requantization.ToOutputRange(y, Vector256.Create(_outputZeroPoint), Vector256.Create(_min), Vector256.Create(_max));
    }

    /// <summary>The pooled pixels of 4 tiles from <paramref name="t0"/> (Vector128): the largest of each tile's four, requantized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Pooled128(Span<int> products, int r, int m, int t0, Span<sbyte> plane)
    {
        if (t0 >= _tiles) return;
        Sums128(products, r, m, t0, out var y00, out var y01, out var y10, out var y11);
        var bias = Vector128.Create(_bias[m]);
        int multiplier = _multipliers[m], shift = _shifts[m];
        Vector128<int> y;
        int order = _poolOrder[m];
        if (order == MaxOfSums) y = Requantization.MultiplyByQuantizedMultiplier(Accumulator(Vector128.Max(Vector128.Max(y00, y01), Vector128.Max(y10, y11)), bias), multiplier, shift);
        else
        {
            var a00 = Accumulator(y00, bias); var a01 = Accumulator(y01, bias);
            var a10 = Accumulator(y10, bias); var a11 = Accumulator(y11, bias);
            if (order == MaxOfAccumulators) y = Requantization.MultiplyByQuantizedMultiplier(Vector128.Max(Vector128.Max(a00, a01), Vector128.Max(a10, a11)), multiplier, shift);
            else y = Vector128.Max(Vector128.Max(Requantization.MultiplyByQuantizedMultiplier(a00, multiplier, shift), Requantization.MultiplyByQuantizedMultiplier(a01, multiplier, shift)), Vector128.Max(Requantization.MultiplyByQuantizedMultiplier(a10, multiplier, shift), Requantization.MultiplyByQuantizedMultiplier(a11, multiplier, shift)));
        }
        y = Requantization.ToOutputRange(y, Vector128.Create(_outputZeroPoint), Vector128.Create(_min), Vector128.Create(_max));
        var words = Vector128.Narrow(y, y);
        StorePooled(Vector128.Narrow(words, words).AsByte(), 4, t0, plane);
    }

    /// <summary>
    /// Stores the pooled pixels of tiles t0..t0+count−1 (those that exist), bytes 0.. of <paramref name="pixels"/>: tile t
    /// is pixel t of the pooled plane, so whole groups are one store.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StorePooled(Vector128<byte> pixels, int count, int t0, Span<sbyte> plane)
    {
        ref byte output = ref Unsafe.Add(ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(plane)), t0);
        if (t0 + count <= _tiles)
        {
            if (count == 16) pixels.StoreUnsafe(ref output);
            else if (count == 8) Unsafe.WriteUnaligned(ref output, pixels.AsUInt64().ToScalar());
            else Unsafe.WriteUnaligned(ref output, pixels.AsUInt32().ToScalar());
            return;
        }
        for (int k = 0; k < _tiles - t0; k++) Unsafe.Add(ref output, k) = pixels.GetElement(k);
    }

    /// <summary>
    /// Stores tiles t0..t0+3 (those that exist): their top rows are bytes <paramref name="topFirst"/>.. of
    /// <paramref name="top"/> (2 per tile), their bottom rows bytes <paramref name="bottomFirst"/>.. of <paramref name="bottom"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreQuad(Vector128<byte> top, int topFirst, Vector128<byte> bottom, int bottomFirst, int t0, Span<sbyte> plane)
    {
        if (t0 >= _tiles) return;
        ref byte output = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(plane));
        int width = _g.OutW;
        if (_quadWhole[t0 >> 2])
        {
            int offset = _tileOffsets[t0];
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref output, offset), top.AsUInt64().GetElement(topFirst >> 3));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref output, offset + width), bottom.AsUInt64().GetElement(bottomFirst >> 3));
        }
        else StorePartialQuad(top, topFirst, bottom, bottomFirst, t0, plane);
    }

    /// <summary>Tiles at the edges or split over two tile rows, pixel by pixel.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StorePartialQuad(Vector128<byte> top, int topFirst, Vector128<byte> bottom, int bottomFirst, int t0, Span<sbyte> plane)
    {
        ref byte output = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(plane));
        int width = _g.OutW, count = Math.Min(4, _tiles - t0);
        for (int k = 0; k < count; k++)
        {
            int t = t0 + k, offset = _tileOffsets[t], shape = _tileShapes[t];
            Unsafe.Add(ref output, offset) = top.GetElement(topFirst + 2 * k);
            if ((shape & 1) != 0) Unsafe.Add(ref output, offset + 1) = top.GetElement(topFirst + 2 * k + 1);
            if ((shape & 2) == 0) continue;
            Unsafe.Add(ref output, offset + width) = bottom.GetElement(bottomFirst + 2 * k);
            if ((shape & 1) != 0) Unsafe.Add(ref output, offset + width + 1) = bottom.GetElement(bottomFirst + 2 * k + 1);
        }
    }
}

/// <summary>acc + the int16 pair products of a and b summed per int32 lane (vpmaddwd + vpaddd, or vpdpwssd).</summary>
internal interface IPairProducts256
{
    static abstract Vector256<int> Add(Vector256<int> acc, Vector256<short> a, Vector256<short> b);
}

internal readonly struct PairProductsAvx2 : IPairProducts256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Add(Vector256<int> acc, Vector256<short> a, Vector256<short> b) => acc + Avx2.MultiplyAddAdjacent(a, b);
}

internal readonly struct PairProductsVnni : IPairProducts256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Add(Vector256<int> acc, Vector256<short> a, Vector256<short> b) => AvxVnni.MultiplyWideningAndAdd(acc, a, b);
}
