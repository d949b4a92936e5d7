using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>Instruction set a GEMM-shaped int8 kernel runs its inner loop with; fixed when the variant is chosen.</summary>
internal enum Int8Isa
{
    /// <summary>int16 pairs, vpmaddwd on 8 int32 lanes.</summary>
    Avx2,
    /// <summary>int16 pairs, vpmaddwd on 16 int32 lanes (AVX-512BW): 32 registers hold an 8-channel × 32-pixel block.</summary>
    Avx512,
    /// <summary>int16 pairs on 4 int32 lanes: pmaddwd (SSE2) or smlal/smlal2 (AdvSimd).</summary>
    Vector128,
    /// <summary>int8 quadruplets, SDOT on 4 int32 lanes.</summary>
    AdvSimdDot,
    /// <summary>uint8 × int8 quadruplets, vpdpbusd (AVX-VNNI) on 8 int32 lanes: inputs stored as x + 128.</summary>
    AvxVnni,
}

internal static class Int8IsaExtensions
{
    /// <summary>Whether the variant multiplies int8 quadruplets (four taps per int32 lane) rather than int16 pairs.</summary>
    public static bool UsesQuads(this Int8Isa isa) => isa is Int8Isa.AdvSimdDot or Int8Isa.AvxVnni;

    /// <summary>The input zero point as the quadruplet variants hold their inputs: zx + 128 for AVX-VNNI's unsigned bytes.</summary>
    public static int StoredZeroPoint(this Int8Isa isa, int zeroPoint) => isa == Int8Isa.AvxVnni ? zeroPoint + 128 : zeroPoint;
}

/// <summary>
/// Int8 Conv (any group count but depthwise) as one GEMM per group and image: Y[m, p] = Σ_k W[m, k]·X[k, p] over the
/// kernel taps k = (c, kh, kw) and output pixels p, then the reference's per-channel requantization.
/// <para>
/// Exactness: every sum is in int32, whose wrap-around addition is associative, so any order of the products gives the
/// reference's accumulator. The input is first copied into a zero-bordered plane per channel, so padded taps contribute
/// zero exactly as the reference skips them. int16 variants store x − zx (in [-255, 255]) and multiply pairs with
/// vpmaddwd / pmaddwd / smlal, which never saturate for such operands. The SDOT variant keeps raw int8 x with zx in the
/// border and subtracts zx·Σ_k W[m, k] from the bias once at prepare time; the AVX-VNNI variant, whose vpdpbusd takes
/// unsigned bytes on one side, stores x + 128 (zx + 128 in the border) and subtracts (zx + 128)·Σ_k W[m, k].
/// </para>
/// <para>
/// Layouts: the im2col matrix holds, for every pair (quadruplet for SDOT) of taps, the pixels of one group one after
/// another with the pair's values adjacent, so a vector load gives 8 (4) pixels × 2 (4) taps; the weights of 4 output
/// channels are packed per pair (quadruplet) as one int32 each, so one broadcast feeds a whole row of pixels.
/// </para>
/// </summary>
internal sealed class ConvInt8Gemm : OpKernel, IParallelWork
{
    /// <summary>Output channels per register block of the 128/256-bit kernels.</summary>
    private const int RowBlock = 4;
    /// <summary>Output channels per register block of the variant (8 for AVX-512, whose 32 registers hold twice the accumulators).</summary>
    private readonly int _rowBlock;
    /// <summary>Multiply-adds per run below which splitting across threads costs more than it saves.</summary>
    private const long MinParallelMacs = 200_000;

    private WorkerPool? _workers;
    /// <summary>What the parallel parts work on: set by <see cref="Run"/> before each dispatch.</summary>
    private TensorMemory? _memory;
    private int _image, _groupIndex;

    private readonly string _name;
    private readonly Int8Isa _isa;
    private readonly int _x, _y;
    private readonly Window2d _g;
    private readonly int _group, _cpg, _mpg, _taps, _steps, _tapsPerStep;
    private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max;
    private readonly int[] _multipliers, _shifts, _bias;
    /// <summary>Per group, per block of 4 output channels, per tap step: 4 int32 of packed weights.</summary>
    private readonly int[] _packedWeights;
    /// <summary>Offset of each tap (step-padded with harmless repeats of tap 0) in the bordered input of one group.</summary>
    private readonly int[] _tapOffsets;
    private readonly int _paddedW, _paddedH, _pixels, _rowStride;
    private readonly short[] _padded16 = [];
    private readonly sbyte[] _padded8 = [];
    private readonly short[] _columns16 = [];
    /// <summary>1x1, stride 1, no padding, int16 pairs: the columns are the input's channel pairs, built in one pass without the bordered copy.</summary>
    private readonly bool _direct1x1;
    private readonly sbyte[] _columns8 = [];

    public static bool CanHandle(KernelSetup s, bool depthwise)
    {
        try
        {
            if (s.InputCount < 2 || s.OutputCount != 1 || !s.HasInput(0) || !s.HasInput(1)) return false;
            var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
            bool isDepthwise = shape.Group > 1 && shape.InChannelsPerGroup == 1 && shape.OutChannelsPerGroup == 1;
            return isDepthwise == depthwise;
        }
        catch (Exception)
        {
            return false;
        }
    }

    public ConvInt8Gemm(KernelSetup s, Int8Isa isa, string name)
    {
        _name = name;
        _isa = isa;
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        (_inputZeroPoint, _outputZeroPoint, _multipliers, _shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, shape.OutChannels);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        _g = shape.Window;
        _group = shape.Group;
        _cpg = shape.InChannelsPerGroup;
        _mpg = shape.OutChannelsPerGroup;
        var g = _g;
        int kernelSize = g.KernelH * g.KernelW;
        _taps = _cpg * kernelSize;
        _tapsPerStep = isa.UsesQuads() ? 4 : 2;
        _rowBlock = isa == Int8Isa.Avx512 ? 8 : RowBlock;
        _steps = (_taps + _tapsPerStep - 1) / _tapsPerStep;

        var weights = MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span);
        _bias = new int[shape.OutChannels];
        if (s.HasInput(2)) MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span).CopyTo(_bias);
        if (isa.UsesQuads())
        {
            // Σ (x − zx)·w = Σ x'·w − zx'·Σ w for x' = x + o, zx' = zx + o (o = 128 for AVX-VNNI's unsigned bytes,
            // else 0), wrapping in int32 like the reference's sum.
            int storedZeroPoint = isa.StoredZeroPoint(_inputZeroPoint);
            for (int m = 0; m < shape.OutChannels; m++)
            {
                int sum = 0;
                for (int k = 0; k < _taps; k++) sum += weights[m * _taps + k];
                _bias[m] -= storedZeroPoint * sum;
            }
        }

        int blocks = (_mpg + _rowBlock - 1) / _rowBlock;
        _packedWeights = new int[_group * blocks * _steps * _rowBlock];
        for (int grp = 0; grp < _group; grp++)
            for (int b = 0; b < blocks; b++)
                for (int step = 0; step < _steps; step++)
                    for (int r = 0; r < _rowBlock; r++)
                    {
                        int m = b * _rowBlock + r;
                        int packed = 0;
                        for (int t = 0; t < _tapsPerStep; t++)
                        {
                            int k = step * _tapsPerStep + t;
                            int w = m < _mpg && k < _taps ? weights[(grp * _mpg + m) * _taps + k] : 0;
                            packed |= _tapsPerStep == 2 ? (ushort)(short)w << (16 * t) : (byte)(sbyte)w << (8 * t);
                        }
                        _packedWeights[((grp * blocks + b) * _steps + step) * _rowBlock + r] = packed;
                    }

        _paddedW = g.W + g.PadLeft + Math.Max(0, (g.OutW - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1 - g.W - g.PadLeft);
        _paddedH = g.H + g.PadTop + Math.Max(0, (g.OutH - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH + 1 - g.H - g.PadTop);
        int plane = _paddedW * _paddedH;
        _tapOffsets = new int[_steps * _tapsPerStep];
        for (int k = 0; k < _tapOffsets.Length; k++)
        {
            // Taps past the last one meet zero weights, so any in-bounds input does.
            int tap = k < _taps ? k : 0;
            int c = tap / kernelSize, kh = tap % kernelSize / g.KernelW, kw = tap % g.KernelW;
            _tapOffsets[k] = c * plane + kh * g.DilationH * _paddedW + kw * g.DilationW;
        }
        _pixels = g.OutH * g.OutW;
        _direct1x1 = !isa.UsesQuads() && g.KernelH == 1 && g.KernelW == 1 && g.StrideH == 1 && g.StrideW == 1
            && g.PadTop == 0 && g.PadLeft == 0 && g.OutH == g.H && g.OutW == g.W;
        // Room for 16 pixels (AVX-512: 32) past the last whole 16: vector copies of a row may run over (into the next
        // row's slots, written afterwards), and the last block reads whole vectors (AVX-512: 32 pixels only when more
        // than 16 are left).
        // An odd number of 16-pixel units (64 bytes of int16 pairs, one cache line) per row spreads the rows the
        // micro-kernels read one after another over all L1 sets; an even number would pile them onto half or fewer.
        _rowStride = ((_pixels + 15) & ~15) + (isa == Int8Isa.Avx512 ? 32 : 16);
        if ((_rowStride / 16) % 2 == 0) _rowStride += 16;
        // Vector reads of a row may run up to 16 elements past its end.
        int paddedLength = g.C * plane + 32;
        if (isa.UsesQuads())
        {
            _padded8 = new sbyte[paddedLength];
            Array.Fill(_padded8, unchecked((sbyte)isa.StoredZeroPoint(_inputZeroPoint)));
            _columns8 = new sbyte[_steps * _rowStride * 4];
        }
        else
        {
            _padded16 = new short[paddedLength];
            _columns16 = new short[_steps * _rowStride * 2];
        }
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        var g = _g;
        int plane = _paddedW * _paddedH;
        Span<sbyte> tail = stackalloc sbyte[16];
        for (int n = 0; n < g.N; n++)
        {
            var image = x.Slice(n * g.C * g.H * g.W, g.C * g.H * g.W);
            if (_direct1x1) { }
            else if (_isa.UsesQuads()) Int8Im2col.Border8(image, _padded8, g, _paddedW, _paddedH, flipSign: _isa == Int8Isa.AvxVnni);
            else Int8Im2col.Border16(image, _padded16, g, _paddedW, _paddedH, _inputZeroPoint);
            for (int grp = 0; grp < _group; grp++)
            {
                int inputBase = grp * _cpg * plane;
                int channel0 = grp * _mpg;
                var output = y.Slice((n * g.C / _cpg * _mpg + channel0) * _pixels, _mpg * _pixels);
                // n * M + channel0 output channels precede this group's rows; g.C / cpg * mpg is M.
                switch (_isa)
                {
                    case Int8Isa.Avx2:
                    case Int8Isa.Avx512:
                    case Int8Isa.Vector128:
                        if (_direct1x1) Int8Im2col.ChannelPairs(image.Slice(grp * _cpg * _pixels, _cpg * _pixels), _cpg, _pixels, _inputZeroPoint, _columns16, _rowStride);
                        else Int8Im2col.Pairs(_padded16, inputBase, _tapOffsets, _steps, g, _paddedW, _columns16, _rowStride, _isa);
                        break;
                    default:
                        Int8Im2col.Quads(_padded8, inputBase, _tapOffsets, _steps, g, _paddedW, _columns8, _rowStride);
                        break;
                }
                if (_workers != null)
                {
                    // The columns are complete; the threads split the output channels, each reading them only.
                    _memory = memory;
                    _image = n;
                    _groupIndex = grp;
                    _workers.Run(this, Math.Min((_mpg + _rowBlock - 1) / _rowBlock, 4 * _workers.Parts));
                    _memory = null;
                }
                else Gemm(output, grp, channel0, 0, _mpg, tail);
            }
        }
    }

    /// <summary>Whether runs split the output channels across the session's worker threads.</summary>
    internal bool IsParallel => _workers != null;

    internal override void UseWorkers(WorkerPool workers)
    {
        long macs = (long)_g.N * _group * _mpg * _pixels * _taps;
        if (macs >= MinParallelMacs && _mpg > _rowBlock) _workers = workers;
    }

    /// <summary>Output channel blocks [chunk·blocks/chunks, (chunk+1)·blocks/chunks) of the current image and group.</summary>
    public void RunChunk(int part, int parts)
    {
        var g = _g;
        int n = _image, grp = _groupIndex, channel0 = grp * _mpg;
        var output = _memory!.Write<sbyte>(_y).Slice((n * g.C / _cpg * _mpg + channel0) * _pixels, _mpg * _pixels);
        int blocks = (_mpg + _rowBlock - 1) / _rowBlock;
        int begin = blocks * part / parts * _rowBlock, end = Math.Min(_mpg, blocks * (part + 1) / parts * _rowBlock);
        Span<sbyte> tail = stackalloc sbyte[16];
        if (begin < end) Gemm(output, grp, channel0, begin, end, tail);
    }

    /// <summary>Output channels [mBegin, mEnd) of one group (mBegin a multiple of the row block) from the finished columns.</summary>
    private void Gemm(Span<sbyte> output, int grp, int channel0, int mBegin, int mEnd, Span<sbyte> tail)
    {
        var weights = _packedWeights.AsSpan(grp * ((_mpg + _rowBlock - 1) / _rowBlock) * _steps * _rowBlock);
        switch (_isa)
        {
            case Int8Isa.Avx2:
                GemmAvx2(weights, output, channel0, mBegin, mEnd, tail);
                break;
            case Int8Isa.Avx512:
                GemmAvx512(weights, output, channel0, mBegin, mEnd, tail);
                break;
            case Int8Isa.Vector128:
                if (AdvSimd.IsSupported) GemmNeon(weights, output, channel0, mBegin, mEnd, tail);
                else GemmSse(weights, output, channel0, mBegin, mEnd, tail);
                break;
            case Int8Isa.AvxVnni:
                GemmVnni(weights, output, channel0, mBegin, mEnd, tail);
                break;
            default:
                GemmDot(weights, output, channel0, mBegin, mEnd, tail);
                break;
        }
    }

    private void GemmAvx2(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail)
    {
        ref short columns = ref MemoryMarshal.GetArrayDataReference(_columns16);
        int steps = _steps, stride = _rowStride * 2;
        var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0);
        // Pixel blocks outside: one block's columns stay in L1 while every channel block passes over them.
        for (int p0 = 0; p0 < _pixels; p0 += 16)
        {
            for (int m0 = mBegin; m0 < mEnd; m0 += RowBlock)
            {
                ref int w = ref Unsafe.AsRef(in weights[m0 / RowBlock * steps * RowBlock]);
                Vector256<int> a00 = default, a01 = default, a10 = default, a11 = default;
                Vector256<int> a20 = default, a21 = default, a30 = default, a31 = default;
                ref short col = ref Unsafe.Add(ref columns, p0 * 2);
                ref int wk = ref w;
                for (int step = 0; step < steps; step++)
                {
                    var x0 = Vector256.LoadUnsafe(ref col);
                    var x1 = Vector256.LoadUnsafe(ref col, 16);
                    var w0 = Vector256.Create(wk).AsInt16();
                    var w1 = Vector256.Create(Unsafe.Add(ref wk, 1)).AsInt16();
                    a00 += Avx2.MultiplyAddAdjacent(x0, w0);
                    a01 += Avx2.MultiplyAddAdjacent(x1, w0);
                    a10 += Avx2.MultiplyAddAdjacent(x0, w1);
                    a11 += Avx2.MultiplyAddAdjacent(x1, w1);
                    var w2 = Vector256.Create(Unsafe.Add(ref wk, 2)).AsInt16();
                    var w3 = Vector256.Create(Unsafe.Add(ref wk, 3)).AsInt16();
                    a20 += Avx2.MultiplyAddAdjacent(x0, w2);
                    a21 += Avx2.MultiplyAddAdjacent(x1, w2);
                    a30 += Avx2.MultiplyAddAdjacent(x0, w3);
                    a31 += Avx2.MultiplyAddAdjacent(x1, w3);
                    col = ref Unsafe.Add(ref col, stride);
                    wk = ref Unsafe.Add(ref wk, RowBlock);
                }
                int count = Math.Min(16, _pixels - p0);
                requant.Store16(a00, a01, m0, output, p0, count, _pixels, _mpg, tail);
                requant.Store16(a10, a11, m0 + 1, output, p0, count, _pixels, _mpg, tail);
                requant.Store16(a20, a21, m0 + 2, output, p0, count, _pixels, _mpg, tail);
                requant.Store16(a30, a31, m0 + 3, output, p0, count, _pixels, _mpg, tail);
            }
        }
    }

    /// <summary>
    /// 8 output channels × 32 pixels per block (16 zmm accumulators): per tap pair, two 64-byte loads of columns and
    /// 8 weight broadcasts feed 16 multiply-adds, a third of the loads per multiply-add of the AVX2 block. A last block
    /// of at most 16 pixels runs with 256-bit vectors, 8 channels × 16 pixels.
    /// </summary>
    private void GemmAvx512(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail)
    {
        ref short columns = ref MemoryMarshal.GetArrayDataReference(_columns16);
        int steps = _steps;
        var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0);
        for (int p0 = 0; p0 < _pixels; p0 += 32)
        {
            int count = Math.Min(32, _pixels - p0);
            for (int m0 = mBegin; m0 < mEnd; m0 += 8)
            {
                ref int wk = ref Unsafe.AsRef(in weights[m0 / 8 * steps * 8]);
                ref short col = ref Unsafe.Add(ref columns, p0 * 2);
                if (count > 16) Avx512Block32(ref wk, ref col, in requant, m0, output, p0, count, tail);
                else Avx512Block16(ref wk, ref col, in requant, m0, output, p0, count, tail);
            }
        }
    }

    /// <summary>8 channels × 32 pixels from <paramref name="m0"/> and <paramref name="p0"/> (a method of its own so its 16 accumulators get registers).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Avx512Block32(ref int wk, ref short col, in Requantizer requant, int m0, Span<sbyte> output, int p0, int count, Span<sbyte> tail)
    {
        int steps = _steps, stride = _rowStride * 2;
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
        requant.Store32(a00, a01, m0, output, p0, count, _pixels, _mpg, tail);
        requant.Store32(a10, a11, m0 + 1, output, p0, count, _pixels, _mpg, tail);
        requant.Store32(a20, a21, m0 + 2, output, p0, count, _pixels, _mpg, tail);
        requant.Store32(a30, a31, m0 + 3, output, p0, count, _pixels, _mpg, tail);
        requant.Store32(a40, a41, m0 + 4, output, p0, count, _pixels, _mpg, tail);
        requant.Store32(a50, a51, m0 + 5, output, p0, count, _pixels, _mpg, tail);
        requant.Store32(a60, a61, m0 + 6, output, p0, count, _pixels, _mpg, tail);
        requant.Store32(a70, a71, m0 + 7, output, p0, count, _pixels, _mpg, tail);
    }

    /// <summary>8 channels × at most 16 pixels.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Avx512Block16(ref int wk, ref short col, in Requantizer requant, int m0, Span<sbyte> output, int p0, int count, Span<sbyte> tail)
    {
        int steps = _steps, stride = _rowStride * 2;
        // 16 pixels in 256-bit halves (measured faster here than one 512-bit vector per channel).
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
        requant.Store16(Vector512.Create(a00, a01), m0, output, p0, count, _pixels, _mpg, tail);
        requant.Store16(Vector512.Create(a10, a11), m0 + 1, output, p0, count, _pixels, _mpg, tail);
        requant.Store16(Vector512.Create(a20, a21), m0 + 2, output, p0, count, _pixels, _mpg, tail);
        requant.Store16(Vector512.Create(a30, a31), m0 + 3, output, p0, count, _pixels, _mpg, tail);
        requant.Store16(Vector512.Create(a40, a41), m0 + 4, output, p0, count, _pixels, _mpg, tail);
        requant.Store16(Vector512.Create(a50, a51), m0 + 5, output, p0, count, _pixels, _mpg, tail);
        requant.Store16(Vector512.Create(a60, a61), m0 + 6, output, p0, count, _pixels, _mpg, tail);
        requant.Store16(Vector512.Create(a70, a71), m0 + 7, output, p0, count, _pixels, _mpg, tail);
    }

    private void GemmSse(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail)
    {
        ref short columns = ref MemoryMarshal.GetArrayDataReference(_columns16);
        int steps = _steps, stride = _rowStride * 2;
        var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0);
        // Pixel blocks outside: one block's columns stay in L1 while every channel block passes over them.
        for (int p0 = 0; p0 < _pixels; p0 += 8)
        {
            for (int m0 = mBegin; m0 < mEnd; m0 += RowBlock)
            {
                ref int w = ref Unsafe.AsRef(in weights[m0 / RowBlock * steps * RowBlock]);
                Vector128<int> a00 = default, a01 = default, a10 = default, a11 = default;
                Vector128<int> a20 = default, a21 = default, a30 = default, a31 = default;
                ref short col = ref Unsafe.Add(ref columns, p0 * 2);
                ref int wk = ref w;
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
                    wk = ref Unsafe.Add(ref wk, RowBlock);
                }
                int count = Math.Min(8, _pixels - p0);
                requant.Store8(a00, a01, m0, output, p0, count, _pixels, _mpg, tail);
                requant.Store8(a10, a11, m0 + 1, output, p0, count, _pixels, _mpg, tail);
                requant.Store8(a20, a21, m0 + 2, output, p0, count, _pixels, _mpg, tail);
                requant.Store8(a30, a31, m0 + 3, output, p0, count, _pixels, _mpg, tail);
            }
        }
    }

    /// <summary>
    /// smlal/smlal2 keep the two taps of a pair in separate lanes (even lanes: first tap, odd: second) across the whole
    /// sum; one pairwise add at the end folds them into one int32 per pixel.
    /// </summary>
    private void GemmNeon(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail)
    {
        ref short columns = ref MemoryMarshal.GetArrayDataReference(_columns16);
        int steps = _steps, stride = _rowStride * 2;
        var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0);
        // Pixel blocks outside: one block's columns stay in L1 while every channel block passes over them.
        for (int p0 = 0; p0 < _pixels; p0 += 8)
        {
            for (int m0 = mBegin; m0 < mEnd; m0 += RowBlock)
            {
                ref int w = ref Unsafe.AsRef(in weights[m0 / RowBlock * steps * RowBlock]);
                Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector128<int> b0 = default, b1 = default, b2 = default, b3 = default;
                Vector128<int> c0 = default, c1 = default, c2 = default, c3 = default;
                Vector128<int> d0 = default, d1 = default, d2 = default, d3 = default;
                ref short col = ref Unsafe.Add(ref columns, p0 * 2);
                ref int wk = ref w;
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
                    wk = ref Unsafe.Add(ref wk, RowBlock);
                }
                int count = Math.Min(8, _pixels - p0);
                requant.Store8(AdvSimd.Arm64.AddPairwise(a0, a1), AdvSimd.Arm64.AddPairwise(a2, a3), m0, output, p0, count, _pixels, _mpg, tail);
                requant.Store8(AdvSimd.Arm64.AddPairwise(b0, b1), AdvSimd.Arm64.AddPairwise(b2, b3), m0 + 1, output, p0, count, _pixels, _mpg, tail);
                requant.Store8(AdvSimd.Arm64.AddPairwise(c0, c1), AdvSimd.Arm64.AddPairwise(c2, c3), m0 + 2, output, p0, count, _pixels, _mpg, tail);
                requant.Store8(AdvSimd.Arm64.AddPairwise(d0, d1), AdvSimd.Arm64.AddPairwise(d2, d3), m0 + 3, output, p0, count, _pixels, _mpg, tail);
            }
        }
    }

    private void GemmDot(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail)
    {
        ref sbyte columns = ref MemoryMarshal.GetArrayDataReference(_columns8);
        int steps = _steps, stride = _rowStride * 4;
        var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0);
        // Pixel blocks outside: one block's columns stay in L1 while every channel block passes over them.
        for (int p0 = 0; p0 < _pixels; p0 += 8)
        {
            for (int m0 = mBegin; m0 < mEnd; m0 += RowBlock)
            {
                ref int w = ref Unsafe.AsRef(in weights[m0 / RowBlock * steps * RowBlock]);
                Vector128<int> a00 = default, a01 = default, a10 = default, a11 = default;
                Vector128<int> a20 = default, a21 = default, a30 = default, a31 = default;
                ref sbyte col = ref Unsafe.Add(ref columns, p0 * 4);
                ref int wk = ref w;
                for (int step = 0; step < steps; step++)
                {
                    var x0 = Vector128.LoadUnsafe(ref col);
                    var x1 = Vector128.LoadUnsafe(ref col, 16);
                    var w0 = Vector128.Create(wk).AsSByte();
                    var w1 = Vector128.Create(Unsafe.Add(ref wk, 1)).AsSByte();
                    a00 = Dp.DotProduct(a00, x0, w0);
                    a01 = Dp.DotProduct(a01, x1, w0);
                    a10 = Dp.DotProduct(a10, x0, w1);
                    a11 = Dp.DotProduct(a11, x1, w1);
                    var w2 = Vector128.Create(Unsafe.Add(ref wk, 2)).AsSByte();
                    var w3 = Vector128.Create(Unsafe.Add(ref wk, 3)).AsSByte();
                    a20 = Dp.DotProduct(a20, x0, w2);
                    a21 = Dp.DotProduct(a21, x1, w2);
                    a30 = Dp.DotProduct(a30, x0, w3);
                    a31 = Dp.DotProduct(a31, x1, w3);
                    col = ref Unsafe.Add(ref col, stride);
                    wk = ref Unsafe.Add(ref wk, RowBlock);
                }
                int count = Math.Min(8, _pixels - p0);
                requant.Store8(a00, a01, m0, output, p0, count, _pixels, _mpg, tail);
                requant.Store8(a10, a11, m0 + 1, output, p0, count, _pixels, _mpg, tail);
                requant.Store8(a20, a21, m0 + 2, output, p0, count, _pixels, _mpg, tail);
                requant.Store8(a30, a31, m0 + 3, output, p0, count, _pixels, _mpg, tail);
            }
        }
    }

    /// <summary>
    /// 4 output channels × 16 pixels per block: per tap quadruplet, two 32-byte loads of columns (8 pixels × 4
    /// unsigned taps each) and 4 weight broadcasts feed 8 vpdpbusd.
    /// </summary>
    private void GemmVnni(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail)
    {
        ref byte columns = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetArrayDataReference(_columns8));
        int steps = _steps, stride = _rowStride * 4;
        var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0);
        for (int p0 = 0; p0 < _pixels; p0 += 16)
        {
            int count = Math.Min(16, _pixels - p0);
            for (int m0 = mBegin; m0 < mEnd; m0 += RowBlock)
            {
                ref int wk = ref Unsafe.AsRef(in weights[m0 / RowBlock * steps * RowBlock]);
                ref byte col = ref Unsafe.Add(ref columns, p0 * 4);
                Vector256<int> a00 = default, a01 = default, a10 = default, a11 = default;
                Vector256<int> a20 = default, a21 = default, a30 = default, a31 = default;
                for (int step = 0; step < steps; step++)
                {
                    var x0 = Vector256.LoadUnsafe(ref col);
                    var x1 = Vector256.LoadUnsafe(ref col, 32);
                    var w0 = Vector256.Create(wk).AsSByte();
                    var w1 = Vector256.Create(Unsafe.Add(ref wk, 1)).AsSByte();
                    a00 = AvxVnni.MultiplyWideningAndAdd(a00, x0, w0);
                    a01 = AvxVnni.MultiplyWideningAndAdd(a01, x1, w0);
                    a10 = AvxVnni.MultiplyWideningAndAdd(a10, x0, w1);
                    a11 = AvxVnni.MultiplyWideningAndAdd(a11, x1, w1);
                    var w2 = Vector256.Create(Unsafe.Add(ref wk, 2)).AsSByte();
                    var w3 = Vector256.Create(Unsafe.Add(ref wk, 3)).AsSByte();
                    a20 = AvxVnni.MultiplyWideningAndAdd(a20, x0, w2);
                    a21 = AvxVnni.MultiplyWideningAndAdd(a21, x1, w2);
                    a30 = AvxVnni.MultiplyWideningAndAdd(a30, x0, w3);
                    a31 = AvxVnni.MultiplyWideningAndAdd(a31, x1, w3);
                    col = ref Unsafe.Add(ref col, stride);
                    wk = ref Unsafe.Add(ref wk, RowBlock);
                }
                requant.Store16(a00, a01, m0, output, p0, count, _pixels, _mpg, tail);
                requant.Store16(a10, a11, m0 + 1, output, p0, count, _pixels, _mpg, tail);
                requant.Store16(a20, a21, m0 + 2, output, p0, count, _pixels, _mpg, tail);
                requant.Store16(a30, a31, m0 + 3, output, p0, count, _pixels, _mpg, tail);
            }
        }
    }
}

/// <summary>Per-output-channel requantization of int32 accumulator vectors and the int8 store of one output row segment.</summary>
internal readonly ref struct Requantizer
{
    private readonly ReadOnlySpan<int> _bias, _multipliers, _shifts;
    private readonly int _zeroPoint, _min, _max, _channel0;

    public Requantizer(ReadOnlySpan<int> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int zeroPoint, int min, int max, int channel0)
    {
        _bias = bias;
        _multipliers = multipliers;
        _shifts = shifts;
        _zeroPoint = zeroPoint;
        _min = min;
        _max = max;
        _channel0 = channel0;
    }

    /// <summary>Rescales 16 accumulators of channel <paramref name="m"/> (local to the group) and stores the first <paramref name="count"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store16(Vector256<int> a0, Vector256<int> a1, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        if (m >= channels) return;
        int c = _channel0 + m;
        var bias = Vector256.Create(_bias[c]);
        int multiplier = _multipliers[c], shift = _shifts[c];
        var zero = Vector256.Create(_zeroPoint);
        var min = Vector256.Create(_min);
        var max = Vector256.Create(_max);
        var r0 = Vector256.Min(Vector256.Max(FixedPointVector.MultiplyByQuantizedMultiplier(a0 + bias, multiplier, shift) + zero, min), max);
        var r1 = Vector256.Min(Vector256.Max(FixedPointVector.MultiplyByQuantizedMultiplier(a1 + bias, multiplier, shift) + zero, min), max);
        // Clamped to int8, so the truncating narrows are exact.
        var s = Vector256.Narrow(r0, r1);
        var bytes = Vector128.Narrow(s.GetLower(), s.GetUpper());
        var row = output.Slice(m * pixels + p0);
        if (count == 16) bytes.StoreUnsafe(ref MemoryMarshal.GetReference(row));
        else
        {
            // A byte loop rather than a copy call: a call here would make the JIT spill the callers' accumulators.
            bytes.StoreUnsafe(ref MemoryMarshal.GetReference(tail));
            for (int i = 0; i < count; i++) row[i] = tail[i];
        }
    }

    /// <summary>Rescales 16 accumulators of channel <paramref name="m"/> with AVX-512 and stores the first <paramref name="count"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store16(Vector512<int> a, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        if (m >= channels) return;
        int c = _channel0 + m;
        var r = FixedPointVector.MultiplyByQuantizedMultiplier(a + Vector512.Create(_bias[c]), _multipliers[c], _shifts[c]);
        r = Vector512.Min(Vector512.Max(r + Vector512.Create(_zeroPoint), Vector512.Create(_min)), Vector512.Create(_max));
        // Clamped to int8, so the saturating narrow is exact.
        var bytes = Avx512F.ConvertToVector128SByteWithSaturation(r);
        var row = output.Slice(m * pixels + p0);
        if (count == 16) bytes.StoreUnsafe(ref MemoryMarshal.GetReference(row));
        else
        {
            // A byte loop rather than a copy call: a call here would make the JIT spill the callers' accumulators.
            bytes.StoreUnsafe(ref MemoryMarshal.GetReference(tail));
            for (int i = 0; i < count; i++) row[i] = tail[i];
        }
    }

    /// <summary>Rescales 32 accumulators of channel <paramref name="m"/> with AVX-512 and stores the first <paramref name="count"/> (more than 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store32(Vector512<int> a0, Vector512<int> a1, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        Store16(a0, m, output, p0, 16, pixels, channels, tail);
        Store16(a1, m, output, p0 + 16, count - 16, pixels, channels, tail);
    }

    /// <summary>Rescales 8 accumulators of channel <paramref name="m"/> and stores the first <paramref name="count"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store8(Vector128<int> a0, Vector128<int> a1, int m, Span<sbyte> output, int p0, int count, int pixels, int channels, Span<sbyte> tail)
    {
        if (m >= channels) return;
        int c = _channel0 + m;
        var bias = Vector128.Create(_bias[c]);
        int multiplier = _multipliers[c], shift = _shifts[c];
        var zero = Vector128.Create(_zeroPoint);
        var min = Vector128.Create(_min);
        var max = Vector128.Create(_max);
        var r0 = Vector128.Min(Vector128.Max(FixedPointVector.MultiplyByQuantizedMultiplier(a0 + bias, multiplier, shift) + zero, min), max);
        var r1 = Vector128.Min(Vector128.Max(FixedPointVector.MultiplyByQuantizedMultiplier(a1 + bias, multiplier, shift) + zero, min), max);
        var s = Vector128.Narrow(r0, r1);
        var bytes = Vector128.Narrow(s, s);
        var row = output.Slice(m * pixels + p0);
        if (count == 8) Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(row)), bytes.AsInt64().ToScalar());
        else
        {
            // A byte loop rather than a copy call: a call here would make the JIT spill the callers' accumulators.
            bytes.StoreUnsafe(ref MemoryMarshal.GetReference(tail));
            for (int i = 0; i < count; i++) row[i] = tail[i];
        }
    }
}

/// <summary>The bordered input copies and the im2col matrices of <see cref="ConvInt8Gemm"/> and the depthwise kernel.</summary>
internal static class Int8Im2col
{
    /// <summary>
    /// Copies the image into zero-bordered planes of x − zx as int16. The border holds zeros only: it is never written
    /// except by a row's last vector, which writes zeros past the row (masked lanes) over border cells or over cells of
    /// later rows, which are written afterwards. <paramref name="padded"/> needs 16 elements of slack past the planes.
    /// </summary>
    public static void Border16(ReadOnlySpan<sbyte> image, short[] padded, Window2d g, int paddedW, int paddedH, int zeroPoint)
    {
        int plane = paddedW * paddedH, width = g.W;
        var zx = Vector128.Create((short)zeroPoint);
        ref sbyte source = ref MemoryMarshal.GetReference(image);
        ref short destination = ref MemoryMarshal.GetArrayDataReference(padded);
        int tail = width % 16;
        // Lanes of the last vector that belong to the row: the rest become 0.
        var lane = Vector128.Create((short)0, 1, 2, 3, 4, 5, 6, 7);
        var keepLo = Vector128.LessThan(lane, Vector128.Create((short)tail));
        var keepHi = Vector128.LessThan(lane + Vector128.Create((short)8), Vector128.Create((short)tail));
        for (int c = 0; c < g.C; c++)
            for (int h = 0; h < g.H; h++)
            {
                int srcRow = (c * g.H + h) * width;
                ref sbyte src = ref Unsafe.Add(ref source, srcRow);
                ref short dst = ref Unsafe.Add(ref destination, c * plane + (h + g.PadTop) * paddedW + g.PadLeft);
                int i = 0;
                for (; i + 16 <= width; i += 16)
                {
                    var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                    (lo - zx).StoreUnsafe(ref dst, (nuint)i);
                    (hi - zx).StoreUnsafe(ref dst, (nuint)i + 8);
                }
                if (tail == 0) continue;
                if (srcRow + i + 16 <= image.Length)
                {
                    var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                    ((lo - zx) & keepLo).StoreUnsafe(ref dst, (nuint)i);
                    ((hi - zx) & keepHi).StoreUnsafe(ref dst, (nuint)i + 8);
                }
                else
                    for (; i < width; i++) Unsafe.Add(ref dst, i) = (short)(Unsafe.Add(ref src, i) - zeroPoint);
            }
    }

    /// <summary>
    /// Copies the image into planes bordered with the zero point (filled at prepare time, never written); with
    /// <paramref name="flipSign"/> as x + 128 in unsigned bytes (the sign bit flipped), for AVX-VNNI.
    /// </summary>
    public static void Border8(ReadOnlySpan<sbyte> image, sbyte[] padded, Window2d g, int paddedW, int paddedH, bool flipSign)
    {
        int plane = paddedW * paddedH;
        for (int c = 0; c < g.C; c++)
            for (int h = 0; h < g.H; h++)
            {
                var source = image.Slice((c * g.H + h) * g.W, g.W);
                var destination = padded.AsSpan(c * plane + (h + g.PadTop) * paddedW + g.PadLeft, g.W);
                if (flipSign) FlipSign(source, destination);
                else source.CopyTo(destination);
            }
    }

    /// <summary>destination = source + 128 as unsigned bytes (the sign bit flipped).</summary>
    public static void FlipSign(ReadOnlySpan<sbyte> source, Span<sbyte> destination)
    {
        var signBit = Vector128.Create(sbyte.MinValue);
        ref sbyte src = ref MemoryMarshal.GetReference(source);
        ref sbyte dst = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        for (; i + 16 <= source.Length; i += 16) (Vector128.LoadUnsafe(ref src, (nuint)i) ^ signBit).StoreUnsafe(ref dst, (nuint)i);
        for (; i < source.Length; i++) Unsafe.Add(ref dst, i) = (sbyte)(Unsafe.Add(ref src, i) ^ sbyte.MinValue);
    }

    /// <summary>
    /// im2col of one group in tap pairs: columns[(step * rowStride + p) * 2 + t] = input of tap 2·step + t at pixel p.
    /// With stride 1 each output row is two contiguous input runs, interleaved 8 pixels at a time (AVX2: 16, AVX-512:
    /// 32 when the row is that long; stride 2: the even elements of two 16-element runs); the last vector of a row may
    /// spill into the next row's slots, which are written afterwards (the last row's spill, up to 31 pixels with
    /// AVX-512, lands in the row stride's slack), and its reads may run 31 elements past the row (the bordered buffer
    /// has 32 to spare).
    /// </summary>
    public static void Pairs(short[] padded, int inputBase, int[] tapOffsets, int steps, Window2d g, int paddedW, short[] columns, int rowStride, Int8Isa isa)
    {
        bool zip512 = isa == Int8Isa.Avx512 && g.OutW >= 32 && Avx512BW.IsSupported;
        bool zip256 = (isa == Int8Isa.Avx2 || isa == Int8Isa.Avx512) && g.OutW >= 16 && Avx2.IsSupported;
        // vpermt2w selectors: element i of the pair vector is a[i / 2] (even i) or b[i / 2] (odd i, index 32 + i / 2).
        var pickLo = Vector512.Create((short)0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39, 8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47);
        var pickHi = pickLo + Vector512.Create((short)16);
        ref short src = ref MemoryMarshal.GetArrayDataReference(padded);
        ref short dst = ref MemoryMarshal.GetArrayDataReference(columns);
        int outW = g.OutW;
        for (int step = 0; step < steps; step++)
        {
            int t0 = inputBase + tapOffsets[2 * step], t1 = inputBase + tapOffsets[2 * step + 1];
            ref short row = ref Unsafe.Add(ref dst, step * rowStride * 2);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                int s0 = t0 + oh * g.StrideH * paddedW, s1 = t1 + oh * g.StrideH * paddedW;
                ref short d = ref Unsafe.Add(ref row, oh * outW * 2);
                if (g.StrideW == 1 && zip512)
                {
                    for (int ow = 0; ow < outW; ow += 32)
                    {
                        var a = Vector512.LoadUnsafe(ref src, (nuint)(s0 + ow));
                        var b = Vector512.LoadUnsafe(ref src, (nuint)(s1 + ow));
                        Avx512BW.PermuteVar32x16x2(a, pickLo, b).StoreUnsafe(ref d, (nuint)(2 * ow));
                        Avx512BW.PermuteVar32x16x2(a, pickHi, b).StoreUnsafe(ref d, (nuint)(2 * ow + 32));
                    }
                }
                else if (g.StrideW == 1 && zip256)
                {
                    for (int ow = 0; ow < outW; ow += 16)
                    {
                        var a = Vector256.LoadUnsafe(ref src, (nuint)(s0 + ow));
                        var b = Vector256.LoadUnsafe(ref src, (nuint)(s1 + ow));
                        // Within 128-bit lanes: pixels 0-3 | 8-11 and 4-7 | 12-15, then the halves regrouped.
                        var lo = Avx2.UnpackLow(a, b);
                        var hi = Avx2.UnpackHigh(a, b);
                        Avx2.Permute2x128(lo, hi, 0x20).StoreUnsafe(ref d, (nuint)(2 * ow));
                        Avx2.Permute2x128(lo, hi, 0x31).StoreUnsafe(ref d, (nuint)(2 * ow + 16));
                    }
                }
                else if (g.StrideW == 1)
                {
                    for (int ow = 0; ow < outW; ow += 8)
                    {
                        var a = Vector128.LoadUnsafe(ref src, (nuint)(s0 + ow));
                        var b = Vector128.LoadUnsafe(ref src, (nuint)(s1 + ow));
                        Zip(a, b, out var lo, out var hi);
                        lo.StoreUnsafe(ref d, (nuint)(2 * ow));
                        hi.StoreUnsafe(ref d, (nuint)(2 * ow + 8));
                    }
                }
                else if (g.StrideW == 2)
                {
                    for (int ow = 0; ow < outW; ow += 8)
                    {
                        // The truncating narrow of int32 lanes keeps the even int16 elements: the stride-2 columns.
                        var a = Vector128.Narrow(Vector128.LoadUnsafe(ref src, (nuint)(s0 + 2 * ow)).AsInt32(), Vector128.LoadUnsafe(ref src, (nuint)(s0 + 2 * ow + 8)).AsInt32());
                        var b = Vector128.Narrow(Vector128.LoadUnsafe(ref src, (nuint)(s1 + 2 * ow)).AsInt32(), Vector128.LoadUnsafe(ref src, (nuint)(s1 + 2 * ow + 8)).AsInt32());
                        Zip(a, b, out var lo, out var hi);
                        lo.StoreUnsafe(ref d, (nuint)(2 * ow));
                        hi.StoreUnsafe(ref d, (nuint)(2 * ow + 8));
                    }
                }
                else
                {
                    int sw = g.StrideW;
                    for (int ow = 0; ow < outW; ow++)
                    {
                        Unsafe.Add(ref d, 2 * ow) = Unsafe.Add(ref src, s0 + ow * sw);
                        Unsafe.Add(ref d, 2 * ow + 1) = Unsafe.Add(ref src, s1 + ow * sw);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The pair columns of a 1x1 convolution straight from the int8 input of one group ([channels, pixels]):
    /// columns[(step * rowStride + p) * 2 + t] = x[2·step + t, p] − zx. An odd last channel is paired with zeros
    /// (its partner's weight is zero anyway).
    /// </summary>
    public static void ChannelPairs(ReadOnlySpan<sbyte> x, int channels, int pixels, int zeroPoint, short[] columns, int rowStride)
    {
        ref sbyte src = ref MemoryMarshal.GetReference(x);
        ref short dst = ref MemoryMarshal.GetArrayDataReference(columns);
        var zx = Vector128.Create((short)zeroPoint);
        for (int step = 0; step < (channels + 1) / 2; step++)
        {
            int c0 = 2 * step, c1 = c0 + 1;
            ref short row = ref Unsafe.Add(ref dst, step * rowStride * 2);
            ref sbyte a = ref Unsafe.Add(ref src, c0 * pixels);
            int p = 0;
            if (c1 < channels)
            {
                ref sbyte b = ref Unsafe.Add(ref src, c1 * pixels);
                for (; p + 16 <= pixels; p += 16)
                {
                    var (a0, a1) = Vector128.Widen(Vector128.LoadUnsafe(ref a, (nuint)p));
                    var (b0, b1) = Vector128.Widen(Vector128.LoadUnsafe(ref b, (nuint)p));
                    Zip(a0 - zx, b0 - zx, out var lo, out var hi);
                    lo.StoreUnsafe(ref row, (nuint)(2 * p));
                    hi.StoreUnsafe(ref row, (nuint)(2 * p + 8));
                    Zip(a1 - zx, b1 - zx, out lo, out hi);
                    lo.StoreUnsafe(ref row, (nuint)(2 * p + 16));
                    hi.StoreUnsafe(ref row, (nuint)(2 * p + 24));
                }
                for (; p < pixels; p++)
                {
                    Unsafe.Add(ref row, 2 * p) = (short)(Unsafe.Add(ref a, p) - zeroPoint);
                    Unsafe.Add(ref row, 2 * p + 1) = (short)(Unsafe.Add(ref b, p) - zeroPoint);
                }
            }
            else
            {
                for (; p < pixels; p++)
                {
                    Unsafe.Add(ref row, 2 * p) = (short)(Unsafe.Add(ref a, p) - zeroPoint);
                    Unsafe.Add(ref row, 2 * p + 1) = 0;
                }
            }
        }
    }

    /// <summary>
    /// im2col of one group in tap quadruplets for SDOT and AVX-VNNI: columns[(step * rowStride + p) * 4 + t]. With
    /// stride 1 rows are zipped 8 (x86: 16) pixels at a time; reads may run 15 bytes past a row (the bordered buffer
    /// has 32 to spare) and the last row's spill lands in the row stride's slack.
    /// </summary>
    public static void Quads(sbyte[] padded, int inputBase, int[] tapOffsets, int steps, Window2d g, int paddedW, sbyte[] columns, int rowStride)
    {
        ref sbyte src = ref MemoryMarshal.GetArrayDataReference(padded);
        ref sbyte dst = ref MemoryMarshal.GetArrayDataReference(columns);
        int outW = g.OutW, sw = g.StrideW;
        for (int step = 0; step < steps; step++)
        {
            int t0 = inputBase + tapOffsets[4 * step], t1 = inputBase + tapOffsets[4 * step + 1];
            int t2 = inputBase + tapOffsets[4 * step + 2], t3 = inputBase + tapOffsets[4 * step + 3];
            ref sbyte row = ref Unsafe.Add(ref dst, step * rowStride * 4);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                int rowOffset = oh * g.StrideH * paddedW;
                ref sbyte d = ref Unsafe.Add(ref row, oh * outW * 4);
                if (sw == 1 && AdvSimd.Arm64.IsSupported)
                {
                    for (int ow = 0; ow < outW; ow += 8)
                    {
                        // Two zips: bytes of taps (0,1) and (2,3) into int16 pairs, then those pairs into quadruplets.
                        var a = Vector64.LoadUnsafe(ref src, (nuint)(t0 + rowOffset + ow)).ToVector128Unsafe();
                        var b = Vector64.LoadUnsafe(ref src, (nuint)(t1 + rowOffset + ow)).ToVector128Unsafe();
                        var c = Vector64.LoadUnsafe(ref src, (nuint)(t2 + rowOffset + ow)).ToVector128Unsafe();
                        var e = Vector64.LoadUnsafe(ref src, (nuint)(t3 + rowOffset + ow)).ToVector128Unsafe();
                        var ab = AdvSimd.Arm64.ZipLow(a, b).AsInt16();
                        var ce = AdvSimd.Arm64.ZipLow(c, e).AsInt16();
                        AdvSimd.Arm64.ZipLow(ab, ce).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow));
                        AdvSimd.Arm64.ZipHigh(ab, ce).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow + 16));
                    }
                }
                else if (sw == 1 && Sse2.IsSupported)
                {
                    for (int ow = 0; ow < outW; ow += 16)
                    {
                        // Bytes of taps (0,1) and (2,3) into int16 pairs, then those pairs into quadruplets; a
                        // row's last vector writes past it into slots written afterwards or into the stride's slack.
                        var a = Vector128.LoadUnsafe(ref src, (nuint)(t0 + rowOffset + ow));
                        var b = Vector128.LoadUnsafe(ref src, (nuint)(t1 + rowOffset + ow));
                        var c = Vector128.LoadUnsafe(ref src, (nuint)(t2 + rowOffset + ow));
                        var e = Vector128.LoadUnsafe(ref src, (nuint)(t3 + rowOffset + ow));
                        var abLo = Sse2.UnpackLow(a, b).AsInt16();
                        var abHi = Sse2.UnpackHigh(a, b).AsInt16();
                        var ceLo = Sse2.UnpackLow(c, e).AsInt16();
                        var ceHi = Sse2.UnpackHigh(c, e).AsInt16();
                        Sse2.UnpackLow(abLo, ceLo).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow));
                        Sse2.UnpackHigh(abLo, ceLo).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow + 16));
                        Sse2.UnpackLow(abHi, ceHi).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow + 32));
                        Sse2.UnpackHigh(abHi, ceHi).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow + 48));
                    }
                }
                else
                {
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int o = rowOffset + ow * sw;
                        Unsafe.Add(ref d, 4 * ow) = Unsafe.Add(ref src, t0 + o);
                        Unsafe.Add(ref d, 4 * ow + 1) = Unsafe.Add(ref src, t1 + o);
                        Unsafe.Add(ref d, 4 * ow + 2) = Unsafe.Add(ref src, t2 + o);
                        Unsafe.Add(ref d, 4 * ow + 3) = Unsafe.Add(ref src, t3 + o);
                    }
                }
            }
        }
    }

    /// <summary>Interleaves two vectors of int16: lo = a0 b0 a1 b1 a2 b2 a3 b3, hi = a4 b4 … a7 b7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zip(Vector128<short> a, Vector128<short> b, out Vector128<short> lo, out Vector128<short> hi)
    {
        if (Sse2.IsSupported)
        {
            lo = Sse2.UnpackLow(a, b);
            hi = Sse2.UnpackHigh(a, b);
        }
        else if (AdvSimd.Arm64.IsSupported)
        {
            lo = AdvSimd.Arm64.ZipLow(a, b);
            hi = AdvSimd.Arm64.ZipHigh(a, b);
        }
        else
        {
            lo = Vector128.Create(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3]);
            hi = Vector128.Create(a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7]);
        }
    }
}
