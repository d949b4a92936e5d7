using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// How the int8 GEMM-shaped kernels (Conv, Gemm) hold their operands on each instruction set: int16 pairs of x − zx
/// multiplied with vpmaddwd / pmaddwd / smlal (Avx2, Avx512, Vector128), or int8 operands four taps per int32 lane and
/// step with the input zero point folded into the bias: SDOT and AVX-VNNI quadruplets (vpdpbusd takes x + 128), and
/// on AdvSimd without SDOT two byte pairs (smull/smlal into int16, sadalp into int32).
/// </summary>
internal static class Int8GemmLayout
{
    /// <summary>
    /// Whether the variant multiplies int8 operands, four taps per int32 lane and step (SDOT and AVX-VNNI quadruplets,
    /// AdvSimd's two byte pairs), with the input zero point folded into the bias, rather than int16 pairs of x − zx.
    /// </summary>
    public static bool UsesQuads(this Isa isa) => isa is Isa.AdvSimdDot or Isa.AvxVnni or Isa.AdvSimd;

    /// <summary>The input zero point as the quadruplet variants hold their inputs: zx + 128 for AVX-VNNI's unsigned bytes.</summary>
    public static int StoredZeroPoint(this Isa isa, int zeroPoint) => isa == Isa.AvxVnni ? zeroPoint + 128 : zeroPoint;
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
/// <para>
/// The ARM variants: SDOT (A76) multiplies by vector element, so one 16-byte load of packed weights serves 4
/// channels; its block is 8 channels × 8 pixels (16 accumulators, 2 column and 2 weight vectors per step, no
/// broadcasts). AdvSimd without SDOT (A72) keeps raw int8 like SDOT (zero point folded into the bias) in byte pairs:
/// pair row r holds taps 2r, 2r+1 of every pixel adjacent, a step takes two pair rows (lo, hi) and each channel's
/// weights come packed as 8 bytes per pair row (its two taps repeated for 4 pixels). Per channel and 4 pixels:
/// smull (lo) + smlal (hi) into 8 int16 lanes of two products each, sadalp into 4 int32 pixels. Two int8 products fit
/// int16 unless both are (−128)·(−128); weights of −128 (which the converter never writes: its range is [−127, 127])
/// take the exact form that widens each smull on its own.
/// </para>
/// </summary>
internal sealed partial class ConvInt8Gemm : OpKernel, IParallelWork
{
    /// <summary>Output channels per register block of the 128/256-bit kernels.</summary>
    private const int RowBlock = 4;
    /// <summary>Output channels per register block of the variant (8 for AVX-512, whose 32 registers hold twice the accumulators, and for SDOT's 8 × 8 block).</summary>
    private readonly int _rowBlock;
    /// <summary>AdvSimd: some weight is −128, so two products may not share an int16 lane.</summary>
    private readonly bool _separatePairs;
    /// <summary>
    /// ARM, stride 1 along rows, channels in whole quadruplets, one group, rows of whole blocks: no im2col matrix.
    /// The bordered input is kept with its channels interleaved (AdvSimd: pairs, 2 bytes per pixel and pair; SDOT:
    /// quadruplets, 4 bytes per pixel), so the operand of a kernel tap and 4 channels for 16 (8) pixels of one output
    /// row is a run of 32 bytes at a fixed offset from the pixels' own: the steps go tap by tap, 4 channels per step.
    /// </summary>
    private readonly bool _implicit;
    /// <summary>Implicit: per kernel tap, its byte offset in the interleaved input from the output pixel's top-left corner.</summary>
    private readonly int[] _implicitTaps = [];
    /// <summary>Multiply-adds per run below which splitting across threads costs more than it saves.</summary>
    private const long MinParallelMacs = 200_000;

    private WorkerPool? _workers;
    /// <summary>What the parallel parts work on: set by <see cref="Run"/> before each dispatch.</summary>
    private TensorMemory? _memory;
    private int _image, _groupIndex;
    private Phase _phase;

    private readonly string _name;
    private readonly Isa _isa;
    private readonly int _x, _y;
    private readonly Window2d _g;
    private readonly int _group, _cpg, _mpg, _taps, _steps, _tapsPerStep;
    private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max;
    private readonly int[] _multipliers, _shifts, _bias;
    /// <summary>Per group, per block of 4 output channels, per tap step: 4 int32 of packed weights.</summary>
    private readonly int[] _packedWeights = [];
    /// <summary>Offset of each tap (step-padded with harmless repeats of tap 0) in the bordered input of one group.</summary>
    private readonly int[] _tapOffsets;
    private readonly int _paddedW, _paddedH, _pixels, _rowStride;
    private readonly short[] _padded16 = [];
    private readonly sbyte[] _padded8 = [];
    private readonly short[] _columns16 = [];
    /// <summary>
    /// 1x1, stride 1, no padding (all but AVX-VNNI): the columns are the input's channel pairs (int16, or int8 for
    /// AdvSimd) or quadruplets (SDOT), built in one pass without the bordered copy.
    /// </summary>
    private readonly bool _direct1x1;
    private readonly sbyte[] _columns8 = [];

    public static bool CanHandle(KernelSetup s, bool depthwise) =>
        ConvKernels.ConvShape.TryRead(s, DataType.Int8, DataType.Int32) is { } shape && shape.IsDepthwise == depthwise;

    /// <summary>
    /// With an operator in the epilogue: one group, so that an image's input is all read (into the bordered copy or the
    /// columns) before any of its output is written, and the operator's output may share the input's bytes.
    /// </summary>
    public static bool CanFuse(KernelSetup s) => ConvKernels.ConvShape.TryRead(s, DataType.Int8, DataType.Int32) is { Group: 1 };

    /// <summary>The operator fused into the epilogue (its output is <see cref="_y"/>), or the plain store.</summary>
    private readonly ConvEpilogue _fused = ConvEpilogue.Store;

    /// <param name="consumer">An operator <see cref="ConvEpilogueFusion.Fuses"/> accepts to run in the epilogue, or null.</param>
    public ConvInt8Gemm(KernelSetup s, Isa isa, string name, bool channelLanes = false, KernelSetup? consumer = null)
    {
        _name = name;
        _isa = isa;
        _channelLanes = channelLanes && isa == Isa.Avx512;
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        (_inputZeroPoint, _outputZeroPoint, _multipliers, _shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, shape.OutChannels);
        _x = s.InputId(0);
        if (consumer != null) _fused = new ConvEpilogue(s, consumer);
        _y = consumer != null ? _fused.Output : s.OutputId(0);
        _g = shape.Window;
        _group = shape.Group;
        _cpg = shape.InChannelsPerGroup;
        _mpg = shape.OutChannelsPerGroup;
        var g = _g;
        int kernelSize = g.KernelH * g.KernelW;
        _taps = _cpg * kernelSize;
        _tapsPerStep = isa.UsesQuads() ? 4 : 2;
        _rowBlock = _channelLanes ? LaneChannels : isa is Isa.Avx512 or Isa.AdvSimdDot ? 8 : RowBlock;
        _steps = (_taps + _tapsPerStep - 1) / _tapsPerStep;
        // Rows of whole blocks (16 pixels for AdvSimd, 8 for SDOT): a row's last part block would cost more than the
        // im2col it saves.
        _implicit = isa is Isa.AdvSimd or Isa.AdvSimdDot && kernelSize > 1 && g.StrideW == 1 && _group == 1 && _cpg % 4 == 0
            && g.OutW % (isa == Isa.AdvSimd ? 16 : 8) == 0;

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
        // AdvSimd: 4 int32 per channel and step, the 8 bytes of each pair row (its two taps, repeated for 4 pixels).
        int perChannel = isa == Isa.AdvSimd ? 4 : 1;
        _separatePairs = isa == Isa.AdvSimd && weights.Contains(sbyte.MinValue);
        _packedWeights = new int[_group * blocks * _steps * _rowBlock * perChannel];
        for (int grp = 0; grp < _group; grp++)
            for (int b = 0; b < blocks; b++)
                for (int step = 0; step < _steps; step++)
                    for (int r = 0; r < _rowBlock; r++)
                    {
                        int m = b * _rowBlock + r;
                        int packed = 0;
                        int index = (((grp * blocks + b) * _steps + step) * _rowBlock + r) * perChannel;
                        for (int t = 0; t < _tapsPerStep; t++)
                        {
                            // Implicit: step = tap·(channels / 4) + channel quadruplet, its 4 channels at that tap.
                            int k = _implicit ? ((step % (_cpg / 4)) * 4 + t) * kernelSize + step / (_cpg / 4) : step * _tapsPerStep + t;
                            int w = m < _mpg && k < _taps ? weights[(grp * _mpg + m) * _taps + k] : 0;
                            packed |= _tapsPerStep == 2 ? (ushort)(short)w << (16 * t) : (byte)(sbyte)w << (8 * t);
                        }
                        if (isa == Isa.AdvSimd)
                        {
                            // Bytes w0 w1 w2 w3 of the step: (w0 w1) four times, then (w2 w3) four times.
                            int lo = packed & 0xFFFF, hi = (packed >>> 16) & 0xFFFF;
                            _packedWeights[index] = _packedWeights[index + 1] = lo | lo << 16;
                            _packedWeights[index + 2] = _packedWeights[index + 3] = hi | hi << 16;
                        }
                        else _packedWeights[index] = packed;
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
        _direct1x1 = isa != Isa.AvxVnni && g.KernelH == 1 && g.KernelW == 1 && g.StrideH == 1 && g.StrideW == 1
            && g.PadTop == 0 && g.PadLeft == 0 && g.OutH == g.H && g.OutW == g.W;
        // Room for 16 pixels (AVX-512: 32) past the last whole 16: vector copies of a row may run over (into the next
        // row's slots, written afterwards), and the last block reads whole vectors (AVX-512: 32 pixels only when more
        // than 16 are left).
        // An odd number of 16-pixel units (64 bytes of int16 pairs, one cache line) per row spreads the rows the
        // micro-kernels read one after another over all L1 sets; an even number would pile them onto half or fewer.
        _rowStride = ((_pixels + 15) & ~15) + (isa == Isa.Avx512 ? 32 : 16);
        if ((_rowStride / 16) % 2 == 0) _rowStride += 16;
        // Vector reads of a row may run up to 16 elements past its end (implicit: 16 pixels of 2 channels, or 8 of 4).
        int paddedLength = g.C * plane + (_implicit ? 64 : 32);
        if (_implicit)
        {
            int bytesPerPixel = isa == Isa.AdvSimd ? 2 : 4;
            _implicitTaps = new int[kernelSize];
            for (int t = 0; t < kernelSize; t++)
                _implicitTaps[t] = (t / g.KernelW * g.DilationH * _paddedW + t % g.KernelW * g.DilationW) * bytesPerPixel;
        }
        if (isa.UsesQuads())
        {
            // Implicit: the same bytes hold the interleaved planes (channels × plane in all).
            _padded8 = new sbyte[paddedLength];
            Array.Fill(_padded8, unchecked((sbyte)isa.StoredZeroPoint(_inputZeroPoint)));
            _columns8 = _implicit ? [] : new sbyte[_steps * _rowStride * 4];
        }
        else
        {
            _padded16 = new short[paddedLength];
            _columns16 = new short[_steps * _rowStride * 2];
        }
        if (_channelLanes)
        {
            _laneSums = new int[((_pixels + 15) & ~15) * blocks * LaneChannels];
            _laneWeights = PackLaneWeights(_packedWeights);
            _packedWeights = [];
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
            else if (_isa == Isa.AdvSimd && _workers != null) Dispatch(memory, n, 0, Phase.Border, Math.Min(_implicit ? g.C / 2 : g.C, _workers.Parts));
            else if (_implicit && _isa == Isa.AdvSimd) Int8Im2col.InterleavePairs(image, _padded8, g, _paddedW, _paddedH, 0, g.C / 2);
            else if (_implicit) Int8Im2col.InterleaveQuads(image, _padded8, g, _paddedW, _paddedH);
            else if (_isa.UsesQuads()) Int8Im2col.Border8(image, _padded8, g, _paddedW, _paddedH, flipSign: _isa == Isa.AvxVnni, 0, g.C);
            else Int8Im2col.Border16(image, _padded16, g, _paddedW, _paddedH, _inputZeroPoint);
            for (int grp = 0; grp < _group; grp++)
            {
                int inputBase = grp * _cpg * plane;
                int channel0 = grp * _mpg;
                var output = y.Slice((n * g.C / _cpg * _mpg + channel0) * _pixels, _mpg * _pixels);
                // n * M + channel0 output channels precede this group's rows; g.C / cpg * mpg is M.
                switch (_isa)
                {
                    case Isa.Avx2:
                    case Isa.Avx512:
                    case Isa.Vector128:
                        if (_direct1x1) Int8Im2col.ChannelPairs(image.Slice(grp * _cpg * _pixels, _cpg * _pixels), _cpg, _pixels, _inputZeroPoint, _columns16, _rowStride);
                        else Int8Im2col.Pairs(_padded16, inputBase, _tapOffsets, _steps, g, _paddedW, _columns16, _rowStride, _isa);
                        break;
                    case Isa.AdvSimd or Isa.AdvSimdDot when _implicit:
                        break;
                    case Isa.AdvSimd when _workers != null:
                        // The threads build ranges of the pair rows, then (below) split the output channels.
                        Dispatch(memory, n, grp, Phase.Columns, Math.Min(2 * _steps, _workers.Parts));
                        break;
                    case Isa.AdvSimd:
                        PairColumns(image, grp, 0, 2 * _steps);
                        break;
                    case Isa.AdvSimdDot:
                        if (_direct1x1) Int8Im2col.ChannelQuads(image.Slice(grp * _cpg * _pixels, _cpg * _pixels), _cpg, _pixels, _steps, _columns8, _rowStride);
                        else Int8Im2col.Quads(_padded8, inputBase, _tapOffsets, _steps, g, _paddedW, _columns8, _rowStride);
                        break;
                    default:
                        Int8Im2col.Quads(_padded8, inputBase, _tapOffsets, _steps, g, _paddedW, _columns8, _rowStride);
                        break;
                }
                // The columns are complete; the threads split the output channels, each reading them only.
                if (_workers != null) Dispatch(memory, n, grp, Phase.Outputs, Math.Min((_mpg + _rowBlock - 1) / _rowBlock, 4 * _workers.Parts));
                else Gemm(memory, output, grp, channel0, 0, _mpg, tail);
            }
        }
    }

    internal override bool IsParallel => _workers != null;

    internal override void UseWorkers(WorkerPool workers)
    {
        long macs = (long)_g.N * _group * _mpg * _pixels * _taps;
        if (macs >= MinParallelMacs && _mpg > _rowBlock) _workers = workers;
    }

    /// <summary>
    /// What a dispatch splits: the bordered copy's channels (channel pairs of the implicit form's), the columns' pair
    /// rows or the output channel blocks.
    /// </summary>
    private enum Phase { Border, Columns, Outputs }

    private void Dispatch(TensorMemory memory, int image, int grp, Phase phase, int chunks)
    {
        _memory = memory;
        _image = image;
        _groupIndex = grp;
        _phase = phase;
        _workers!.Run(this, chunks);
        _memory = null;
    }

    /// <summary>Range [chunk·n/chunks, (chunk+1)·n/chunks) of the current phase's n channels, pair rows or channel blocks.</summary>
    public void RunChunk(int part, int parts)
    {
        var g = _g;
        if (_phase != Phase.Outputs)
        {
            var image = _memory!.Read<sbyte>(_x).Slice(_image * g.C * g.H * g.W, g.C * g.H * g.W);
            if (_phase == Phase.Border && _implicit) Int8Im2col.InterleavePairs(image, _padded8, g, _paddedW, _paddedH, g.C / 2 * part / parts, g.C / 2 * (part + 1) / parts);
            else if (_phase == Phase.Border) Int8Im2col.Border8(image, _padded8, g, _paddedW, _paddedH, flipSign: false, g.C * part / parts, g.C * (part + 1) / parts);
            else PairColumns(image, _groupIndex, 2 * _steps * part / parts, 2 * _steps * (part + 1) / parts);
            return;
        }
        int n = _image, grp = _groupIndex, channel0 = grp * _mpg;
        var output = _memory!.Write<sbyte>(_y).Slice((n * g.C / _cpg * _mpg + channel0) * _pixels, _mpg * _pixels);
        int blocks = (_mpg + _rowBlock - 1) / _rowBlock;
        int begin = blocks * part / parts * _rowBlock, end = Math.Min(_mpg, blocks * (part + 1) / parts * _rowBlock);
        Span<sbyte> tail = stackalloc sbyte[16];
        if (begin < end) Gemm(_memory, output, grp, channel0, begin, end, tail);
    }

    /// <summary>AdvSimd: pair rows [rowBegin, rowEnd) of one group's int8 columns, from the image (1x1) or its bordered copy.</summary>
    private void PairColumns(ReadOnlySpan<sbyte> image, int grp, int rowBegin, int rowEnd)
    {
        if (_direct1x1) Int8Im2col.ChannelPairs8(image.Slice(grp * _cpg * _pixels, _cpg * _pixels), _cpg, _pixels, rowBegin, rowEnd, _columns8, _rowStride);
        else Int8Im2col.Pairs8(_padded8, grp * _cpg * _paddedW * _paddedH, _tapOffsets, rowBegin, rowEnd, _g, _paddedW, _columns8, _rowStride);
    }

    /// <summary>
    /// Output channels [mBegin, mEnd) of one group (mBegin a multiple of the row block) from the finished columns,
    /// ended by the fused operator's epilogue, if any.
    /// </summary>
    private void Gemm(TensorMemory memory, Span<sbyte> output, int grp, int channel0, int mBegin, int mEnd, Span<sbyte> tail)
    {
        switch (_fused.Kind)
        {
            case ConvEpilogueKind.Lookup:
                Gemm(output, grp, channel0, mBegin, mEnd, tail, in _fused.Lookup);
                break;
            case ConvEpilogueKind.ResidualAdd:
                Gemm(output, grp, channel0, mBegin, mEnd, tail, _fused.ResidualAdd(memory));
                break;
            default:
                Gemm(output, grp, channel0, mBegin, mEnd, tail, default(Int8Store));
                break;
        }
    }

    private void Gemm<TEpilogue>(Span<sbyte> output, int grp, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        if (_channelLanes)
        {
            GemmAvx512Lanes(grp, output, channel0, mBegin, mEnd, tail, epilogue);
            return;
        }
        var weights = _packedWeights.AsSpan(grp * ((_mpg + _rowBlock - 1) / _rowBlock) * _steps * _rowBlock * (_isa == Isa.AdvSimd ? 4 : 1));
        switch (_isa)
        {
            case Isa.Avx2:
                GemmAvx2(weights, output, channel0, mBegin, mEnd, tail, epilogue);
                break;
            case Isa.Avx512:
                GemmAvx512(weights, output, channel0, mBegin, mEnd, tail, epilogue);
                break;
            case Isa.Vector128:
                if (AdvSimd.IsSupported) GemmNeon(weights, output, channel0, mBegin, mEnd, tail, epilogue);
                else GemmSse(weights, output, channel0, mBegin, mEnd, tail, epilogue);
                break;
            case Isa.AvxVnni:
                GemmVnni(weights, output, channel0, mBegin, mEnd, tail, epilogue);
                break;
            case Isa.AdvSimd:
                if (_separatePairs) GemmPairs<SeparatePairs, TEpilogue>(weights, output, channel0, mBegin, mEnd, tail, epilogue);
                else GemmPairs<FusedPairs, TEpilogue>(weights, output, channel0, mBegin, mEnd, tail, epilogue);
                break;
            default:
                GemmDot(weights, output, channel0, mBegin, mEnd, tail, epilogue);
                break;
        }
    }

    private void GemmAvx2<TEpilogue>(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        ref short columns = ref MemoryMarshal.GetArrayDataReference(_columns16);
        int steps = _steps, stride = _rowStride * 2;
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
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
    private void GemmAvx512<TEpilogue>(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        ref short columns = ref MemoryMarshal.GetArrayDataReference(_columns16);
        int steps = _steps;
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
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
    private void Avx512Block32<TEpilogue>(ref int wk, ref short col, in Requantizer<TEpilogue> requant, int m0, Span<sbyte> output, int p0, int count, Span<sbyte> tail)
        where TEpilogue : struct, IInt8Epilogue
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
    private void Avx512Block16<TEpilogue>(ref int wk, ref short col, in Requantizer<TEpilogue> requant, int m0, Span<sbyte> output, int p0, int count, Span<sbyte> tail)
        where TEpilogue : struct, IInt8Epilogue
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

    private void GemmSse<TEpilogue>(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        ref short columns = ref MemoryMarshal.GetArrayDataReference(_columns16);
        int steps = _steps, stride = _rowStride * 2;
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
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
    private void GemmNeon<TEpilogue>(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        ref short columns = ref MemoryMarshal.GetArrayDataReference(_columns16);
        int steps = _steps, stride = _rowStride * 2;
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
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

    /// <summary>
    /// Where a block's operands start and how its steps walk: the pixels' own operand address, per kernel tap an offset
    /// from it (the explicit im2col: one tap at 0 taking every step), the steps per tap, the distance between steps and
    /// (AdvSimd) from a step's lo pair row to its hi one.
    /// </summary>
    private readonly unsafe struct StepWalk(int* taps, int tapCount, int stepsPerTap, nint stepStride, nint hiOffset)
    {
        public readonly int* Taps = taps;
        public readonly int TapCount = tapCount, StepsPerTap = stepsPerTap;
        public readonly nint StepStride = stepStride, HiOffset = hiOffset;
    }

    /// <summary>
    /// SDOT: 8 output channels × 8 pixels per block, 16 accumulators: per tap quadruplet one load pair of columns (8
    /// pixels × 4 taps) and one of weights (8 channels × 4 taps) feed 16 SDOTs by element, no broadcasts. Implicit:
    /// blocks of 8 pixels along each output row.
    /// </summary>
    private unsafe void GemmDot<TEpilogue>(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        if (_implicit)
        {
            GemmDotImplicit(weights, output, channel0, mBegin, mEnd, tail, epilogue);
            return;
        }
        const int Block = 8;
        int steps = _steps;
        nint stride = _rowStride * 4;
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
        fixed (sbyte* columns = _columns8)
        fixed (int* packed = weights)
        {
            // Pixel blocks outside: one block's columns stay in L1 while every channel block passes over them. While
            // more than 8 pixels are left, 16-pixel blocks of 4 channels: one 16-lane requantize-and-store per channel
            // instead of two 8-lane ones.
            int p0 = 0;
            for (; _pixels - p0 > 8; p0 += 16)
            {
                int count = Math.Min(16, _pixels - p0);
                for (int m0 = mBegin; m0 < mEnd; m0 += Block)
                    for (int half = 0; half < Block; half += 4)
                        DotBlock16(columns + p0 * 4, (sbyte*)(packed + m0 * steps) + half * 4, steps, stride, ref requant, m0 + half, output, p0, count, tail);
            }
            for (; p0 < _pixels; p0 += 8)
            {
                int count = Math.Min(8, _pixels - p0);
                for (int m0 = mBegin; m0 < mEnd; m0 += Block)
                {
                    sbyte* wk = (sbyte*)(packed + m0 * steps);
                    sbyte* col = columns + p0 * 4;
                    sbyte* end = wk + steps * Block * 4;
                    Vector128<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
                    Vector128<int> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
                    // Two steps per pass (one loop test per 32 SDOTs), then an odd last step.
                    sbyte* pairsEnd = wk + (steps & ~1) * Block * 4;
                    for (; wk < pairsEnd; wk += 2 * Block * 4, col += 2 * stride)
                    {
                        DotStep(col, wk, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31,
                            ref a40, ref a41, ref a50, ref a51, ref a60, ref a61, ref a70, ref a71);
                        DotStep(col + stride, wk + Block * 4, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31,
                            ref a40, ref a41, ref a50, ref a51, ref a60, ref a61, ref a70, ref a71);
                    }
                    if (wk < end)
                        DotStep(col, wk, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31,
                            ref a40, ref a41, ref a50, ref a51, ref a60, ref a61, ref a70, ref a71);
                    requant.Store8(a00, a01, m0, output, p0, count, _pixels, _mpg, tail);
                    requant.Store8(a10, a11, m0 + 1, output, p0, count, _pixels, _mpg, tail);
                    requant.Store8(a20, a21, m0 + 2, output, p0, count, _pixels, _mpg, tail);
                    requant.Store8(a30, a31, m0 + 3, output, p0, count, _pixels, _mpg, tail);
                    requant.Store8(a40, a41, m0 + 4, output, p0, count, _pixels, _mpg, tail);
                    requant.Store8(a50, a51, m0 + 5, output, p0, count, _pixels, _mpg, tail);
                    requant.Store8(a60, a61, m0 + 6, output, p0, count, _pixels, _mpg, tail);
                    requant.Store8(a70, a71, m0 + 7, output, p0, count, _pixels, _mpg, tail);
                }
            }
        }
    }

    /// <summary>
    /// SDOT on 16 pixels (9 to 16 of them real) × 4 channels (<paramref name="m"/> on) of an 8-channel weight block (at
    /// <paramref name="wk"/>, 32 bytes a step): per tap quadruplet one 4-register load of columns, one of weights, 16
    /// SDOTs by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void DotBlock16<TEpilogue>(sbyte* col, sbyte* wk, int steps, nint stride, ref Requantizer<TEpilogue> requant, int m, Span<sbyte> output, int p0, int count, Span<sbyte> tail)
        where TEpilogue : struct, IInt8Epilogue
    {
        Vector128<int> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        Vector128<int> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        sbyte* end = wk + steps * 32;
        for (; wk < end; wk += 32, col += stride)
        {
            var (x0, x1, x2, x3) = AdvSimd.Arm64.Load4xVector128(col);
            var w = AdvSimd.LoadVector128(wk);
            a00 = Dp.DotProductBySelectedQuadruplet(a00, x0, w, 0);
            a01 = Dp.DotProductBySelectedQuadruplet(a01, x1, w, 0);
            a02 = Dp.DotProductBySelectedQuadruplet(a02, x2, w, 0);
            a03 = Dp.DotProductBySelectedQuadruplet(a03, x3, w, 0);
            a10 = Dp.DotProductBySelectedQuadruplet(a10, x0, w, 1);
            a11 = Dp.DotProductBySelectedQuadruplet(a11, x1, w, 1);
            a12 = Dp.DotProductBySelectedQuadruplet(a12, x2, w, 1);
            a13 = Dp.DotProductBySelectedQuadruplet(a13, x3, w, 1);
            a20 = Dp.DotProductBySelectedQuadruplet(a20, x0, w, 2);
            a21 = Dp.DotProductBySelectedQuadruplet(a21, x1, w, 2);
            a22 = Dp.DotProductBySelectedQuadruplet(a22, x2, w, 2);
            a23 = Dp.DotProductBySelectedQuadruplet(a23, x3, w, 2);
            a30 = Dp.DotProductBySelectedQuadruplet(a30, x0, w, 3);
            a31 = Dp.DotProductBySelectedQuadruplet(a31, x1, w, 3);
            a32 = Dp.DotProductBySelectedQuadruplet(a32, x2, w, 3);
            a33 = Dp.DotProductBySelectedQuadruplet(a33, x3, w, 3);
        }
        requant.Store16(a00, a01, a02, a03, m, output, p0, count, _pixels, _mpg, tail);
        requant.Store16(a10, a11, a12, a13, m + 1, output, p0, count, _pixels, _mpg, tail);
        requant.Store16(a20, a21, a22, a23, m + 2, output, p0, count, _pixels, _mpg, tail);
        requant.Store16(a30, a31, a32, a33, m + 3, output, p0, count, _pixels, _mpg, tail);
    }

    /// <summary>The implicit SDOT Conv: blocks of 8 pixels along each output row, their operands in the interleaved input.</summary>
    private unsafe void GemmDotImplicit<TEpilogue>(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        var g = _g;
        fixed (sbyte* interleaved = _padded8)
        fixed (int* taps = _implicitTaps)
        fixed (int* packed = weights)
        {
            var walk = new StepWalk(taps, _implicitTaps.Length, _cpg / 4, (nint)_paddedW * _paddedH * 4, 0);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                sbyte* row = interleaved + (nint)oh * g.StrideH * _paddedW * 4;
                for (int ow = 0; ow < g.OutW; ow += 8)
                    DotBlock(row + ow * 4, packed, walk, oh * g.OutW + ow, Math.Min(8, g.OutW - ow), channel0, mBegin, mEnd, output, tail, epilogue);
            }
        }
    }

    /// <summary>One block of 8 pixels (<paramref name="count"/> of them real) from pixel <paramref name="p0"/>, operands at <paramref name="src"/>, every channel block.</summary>
    private unsafe void DotBlock<TEpilogue>(sbyte* src, int* packed, StepWalk walk, int p0, int count, int channel0, int mBegin, int mEnd, Span<sbyte> output, Span<sbyte> tail, in TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        const int Block = 8;
        int steps = _steps;
        nint stride = walk.StepStride;
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
        for (int m0 = mBegin; m0 < mEnd; m0 += Block)
        {
            sbyte* wk = (sbyte*)(packed + m0 * steps);
            Vector128<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
            Vector128<int> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
            for (int t = 0; t < walk.TapCount; t++)
            {
                sbyte* col = src + walk.Taps[t];
                sbyte* end = wk + walk.StepsPerTap * Block * 4;
                // Two steps per pass (one loop test per 32 SDOTs), then an odd last step.
                sbyte* pairsEnd = wk + (walk.StepsPerTap & ~1) * Block * 4;
                for (; wk < pairsEnd; wk += 2 * Block * 4, col += 2 * stride)
                {
                    DotStep(col, wk, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31,
                        ref a40, ref a41, ref a50, ref a51, ref a60, ref a61, ref a70, ref a71);
                    DotStep(col + stride, wk + Block * 4, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31,
                        ref a40, ref a41, ref a50, ref a51, ref a60, ref a61, ref a70, ref a71);
                }
                if (wk < end)
                {
                    DotStep(col, wk, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31,
                        ref a40, ref a41, ref a50, ref a51, ref a60, ref a61, ref a70, ref a71);
                    wk = end;
                }
            }
            requant.Store8(a00, a01, m0, output, p0, count, _pixels, _mpg, tail);
            requant.Store8(a10, a11, m0 + 1, output, p0, count, _pixels, _mpg, tail);
            requant.Store8(a20, a21, m0 + 2, output, p0, count, _pixels, _mpg, tail);
            requant.Store8(a30, a31, m0 + 3, output, p0, count, _pixels, _mpg, tail);
            requant.Store8(a40, a41, m0 + 4, output, p0, count, _pixels, _mpg, tail);
            requant.Store8(a50, a51, m0 + 5, output, p0, count, _pixels, _mpg, tail);
            requant.Store8(a60, a61, m0 + 6, output, p0, count, _pixels, _mpg, tail);
            requant.Store8(a70, a71, m0 + 7, output, p0, count, _pixels, _mpg, tail);
        }
    }

    /// <summary>One tap quadruplet of the SDOT block: 8 pixels' columns at <paramref name="col"/>, 8 channels' weights at <paramref name="wk"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void DotStep(sbyte* col, sbyte* wk, ref Vector128<int> a00, ref Vector128<int> a01, ref Vector128<int> a10, ref Vector128<int> a11,
        ref Vector128<int> a20, ref Vector128<int> a21, ref Vector128<int> a30, ref Vector128<int> a31, ref Vector128<int> a40, ref Vector128<int> a41,
        ref Vector128<int> a50, ref Vector128<int> a51, ref Vector128<int> a60, ref Vector128<int> a61, ref Vector128<int> a70, ref Vector128<int> a71)
    {
        var (x0, x1) = AdvSimd.Arm64.LoadPairVector128(col);
        var (w0, w1) = AdvSimd.Arm64.LoadPairVector128(wk);
        a00 = Dp.DotProductBySelectedQuadruplet(a00, x0, w0, 0);
        a01 = Dp.DotProductBySelectedQuadruplet(a01, x1, w0, 0);
        a10 = Dp.DotProductBySelectedQuadruplet(a10, x0, w0, 1);
        a11 = Dp.DotProductBySelectedQuadruplet(a11, x1, w0, 1);
        a20 = Dp.DotProductBySelectedQuadruplet(a20, x0, w0, 2);
        a21 = Dp.DotProductBySelectedQuadruplet(a21, x1, w0, 2);
        a30 = Dp.DotProductBySelectedQuadruplet(a30, x0, w0, 3);
        a31 = Dp.DotProductBySelectedQuadruplet(a31, x1, w0, 3);
        a40 = Dp.DotProductBySelectedQuadruplet(a40, x0, w1, 0);
        a41 = Dp.DotProductBySelectedQuadruplet(a41, x1, w1, 0);
        a50 = Dp.DotProductBySelectedQuadruplet(a50, x0, w1, 1);
        a51 = Dp.DotProductBySelectedQuadruplet(a51, x1, w1, 1);
        a60 = Dp.DotProductBySelectedQuadruplet(a60, x0, w1, 2);
        a61 = Dp.DotProductBySelectedQuadruplet(a61, x1, w1, 2);
        a70 = Dp.DotProductBySelectedQuadruplet(a70, x0, w1, 3);
        a71 = Dp.DotProductBySelectedQuadruplet(a71, x1, w1, 3);
    }

    /// <summary>
    /// One step of the AdvSimd 4 × 16 block: ld1 of 4 d registers gives the lo pairs of the 16 pixels (at
    /// <paramref name="lo"/>), another their hi pairs, two more the packed weights of 2 channels each (lo, hi).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PairsStep16<TProducts>(sbyte* lo, sbyte* hi, sbyte* wk, ref Vector128<int> a00, ref Vector128<int> a01, ref Vector128<int> a02, ref Vector128<int> a03, ref Vector128<int> a10, ref Vector128<int> a11, ref Vector128<int> a12, ref Vector128<int> a13, ref Vector128<int> a20, ref Vector128<int> a21, ref Vector128<int> a22, ref Vector128<int> a23, ref Vector128<int> a30, ref Vector128<int> a31, ref Vector128<int> a32, ref Vector128<int> a33)
        where TProducts : struct, IPairProducts
    {
        var (x0, x1, x2, x3) = AdvSimd.Load4xVector64(lo);
        var (y0, y1, y2, y3) = AdvSimd.Load4xVector64(hi);
        var (wl0, wh0, wl1, wh1) = AdvSimd.Load4xVector64(wk);
        a00 = TProducts.Add(a00, x0, y0, wl0, wh0);
        a01 = TProducts.Add(a01, x1, y1, wl0, wh0);
        a02 = TProducts.Add(a02, x2, y2, wl0, wh0);
        a03 = TProducts.Add(a03, x3, y3, wl0, wh0);
        a10 = TProducts.Add(a10, x0, y0, wl1, wh1);
        a11 = TProducts.Add(a11, x1, y1, wl1, wh1);
        a12 = TProducts.Add(a12, x2, y2, wl1, wh1);
        a13 = TProducts.Add(a13, x3, y3, wl1, wh1);
        (wl0, wh0, wl1, wh1) = AdvSimd.Load4xVector64(wk + 32);
        a20 = TProducts.Add(a20, x0, y0, wl0, wh0);
        a21 = TProducts.Add(a21, x1, y1, wl0, wh0);
        a22 = TProducts.Add(a22, x2, y2, wl0, wh0);
        a23 = TProducts.Add(a23, x3, y3, wl0, wh0);
        a30 = TProducts.Add(a30, x0, y0, wl1, wh1);
        a31 = TProducts.Add(a31, x1, y1, wl1, wh1);
        a32 = TProducts.Add(a32, x2, y2, wl1, wh1);
        a33 = TProducts.Add(a33, x3, y3, wl1, wh1);
    }

    /// <summary>How a step's two byte pairs of one channel and 4 pixels reach their int32 accumulator.</summary>
    private interface IPairProducts
    {
        /// <summary>acc + Σ of the products lo·wl and hi·wh, adjacent int16 lanes (one pixel's pair) summed into each int32 lane.</summary>
        static abstract Vector128<int> Add(Vector128<int> acc, Vector64<sbyte> lo, Vector64<sbyte> hi, Vector64<sbyte> wl, Vector64<sbyte> wh);
    }

    /// <summary>smull + smlal + sadalp: each int16 lane holds two products, at most 2·128·127 with weights in [−127, 127].</summary>
    private readonly struct FusedPairs : IPairProducts
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Add(Vector128<int> acc, Vector64<sbyte> lo, Vector64<sbyte> hi, Vector64<sbyte> wl, Vector64<sbyte> wh) =>
            AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningLower(lo, wl), hi, wh));
    }

    /// <summary>Each smull widened on its own (exact for every int8, −128·−128 included): two sadalp per step.</summary>
    private readonly struct SeparatePairs : IPairProducts
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Add(Vector128<int> acc, Vector64<sbyte> lo, Vector64<sbyte> hi, Vector64<sbyte> wl, Vector64<sbyte> wh) =>
            AdvSimd.AddPairwiseWideningAndAdd(AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningLower(lo, wl)), AdvSimd.MultiplyWideningLower(hi, wh));
    }

    /// <summary>
    /// AdvSimd without SDOT: 4 output channels × 16 pixels per block, 16 accumulators of 4 pixels. Per step (two pair
    /// rows) one 4-register load from each pair row gives the 16 pixels' lo and hi pairs, one per 2 channels their packed
    /// weights; each channel and 4 pixels take smull + smlal + sadalp (<typeparamref name="TProducts"/>). Implicit:
    /// blocks along each output row.
    /// </summary>
    private unsafe void GemmPairs<TProducts, TEpilogue>(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TProducts : struct, IPairProducts
        where TEpilogue : struct, IInt8Epilogue
    {
        if (_implicit)
        {
            GemmPairsImplicit<TProducts, TEpilogue>(weights, output, channel0, mBegin, mEnd, tail, epilogue);
            return;
        }
        int steps = _steps;
        nint pairRow = _rowStride * 2;
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
        // Locals: fields would be read again after every store.
        int pixels = _pixels, mpg = _mpg;
        fixed (sbyte* columns = _columns8)
        fixed (int* packed = weights)
        {
            // Blocks of 16 pixels while more than 12 are left; the last 1 to 12 in blocks of 8 and 4 (a 6x6 map
            // computes 36 pixels, not 48; a 3x3 one 12, not 16).
            int wide = _pixels - 12 > 0 ? (_pixels - 12 + 15) / 16 * 16 : 0;
            for (int p0 = 0; p0 < wide; p0 += 16)
            {
                int count = Math.Min(16, _pixels - p0);
                for (int m0 = mBegin; m0 < mEnd; m0 += RowBlock)
                {
                    sbyte* wk = (sbyte*)(packed + m0 * steps * 4);
                    sbyte* end = wk + steps * RowBlock * 16;
                    sbyte* lo = columns + p0 * 2;
                    Vector128<int> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
                    Vector128<int> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
                    // Two steps per pass (one loop test per 96 multiply instructions), then an odd last step.
                    sbyte* pairsEnd = wk + (steps & ~1) * RowBlock * 16;
                    for (; wk < pairsEnd; wk += 2 * RowBlock * 16, lo += 4 * pairRow)
                    {
                        PairsStep16<TProducts>(lo, lo + pairRow, wk, ref a00, ref a01, ref a02, ref a03, ref a10, ref a11, ref a12, ref a13, ref a20, ref a21, ref a22, ref a23, ref a30, ref a31, ref a32, ref a33);
                        PairsStep16<TProducts>(lo + 2 * pairRow, lo + 3 * pairRow, wk + RowBlock * 16, ref a00, ref a01, ref a02, ref a03, ref a10, ref a11, ref a12, ref a13, ref a20, ref a21, ref a22, ref a23, ref a30, ref a31, ref a32, ref a33);
                    }
                    if (wk < end) PairsStep16<TProducts>(lo, lo + pairRow, wk, ref a00, ref a01, ref a02, ref a03, ref a10, ref a11, ref a12, ref a13, ref a20, ref a21, ref a22, ref a23, ref a30, ref a31, ref a32, ref a33);
                    // count is 13 to 16 here: one 16-lane store per channel.
                    requant.Store16(a00, a01, a02, a03, m0, output, p0, count, pixels, mpg, tail);
                    requant.Store16(a10, a11, a12, a13, m0 + 1, output, p0, count, pixels, mpg, tail);
                    requant.Store16(a20, a21, a22, a23, m0 + 2, output, p0, count, pixels, mpg, tail);
                    requant.Store16(a30, a31, a32, a33, m0 + 3, output, p0, count, pixels, mpg, tail);
                }
            }
            for (int p0 = wide; p0 < _pixels; p0 += 8)
            {
                // (Their own requantizers: one passed by reference would keep this method's from registers.)
                if (_pixels - p0 > 4) PairsBlock8<TProducts, TEpilogue>(columns, packed, p0, Math.Min(8, _pixels - p0), channel0, mBegin, mEnd, output, tail, epilogue);
                else PairsBlock4<TProducts, TEpilogue>(columns, packed, p0, _pixels - p0, channel0, mBegin, mEnd, output, tail, epilogue);
            }
        }
    }

    /// <summary><see cref="GemmPairs{TProducts}"/> on 8 pixels (5 to 8 of them real) from <paramref name="p0"/>: 8 accumulators.</summary>
    private unsafe void PairsBlock8<TProducts, TEpilogue>(sbyte* columns, int* packed, int p0, int count, int channel0, int mBegin, int mEnd, Span<sbyte> output, Span<sbyte> tail, in TEpilogue epilogue)
        where TProducts : struct, IPairProducts
        where TEpilogue : struct, IInt8Epilogue
    {
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
        // Locals: fields would be read again after every store.
        int pixels = _pixels, mpg = _mpg;
        int steps = _steps;
        nint pairRow = _rowStride * 2;
        for (int m0 = mBegin; m0 < mEnd; m0 += RowBlock)
        {
            sbyte* wk = (sbyte*)(packed + m0 * steps * 4);
            sbyte* end = wk + steps * RowBlock * 16;
            sbyte* lo = columns + p0 * 2;
            Vector128<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
            for (; wk < end; wk += RowBlock * 16, lo += 2 * pairRow)
            {
                var (x0, x1) = AdvSimd.Arm64.LoadPairVector64(lo);
                var (y0, y1) = AdvSimd.Arm64.LoadPairVector64(lo + pairRow);
                var (wl0, wh0, wl1, wh1) = AdvSimd.Load4xVector64(wk);
                a00 = TProducts.Add(a00, x0, y0, wl0, wh0);
                a01 = TProducts.Add(a01, x1, y1, wl0, wh0);
                a10 = TProducts.Add(a10, x0, y0, wl1, wh1);
                a11 = TProducts.Add(a11, x1, y1, wl1, wh1);
                (wl0, wh0, wl1, wh1) = AdvSimd.Load4xVector64(wk + 32);
                a20 = TProducts.Add(a20, x0, y0, wl0, wh0);
                a21 = TProducts.Add(a21, x1, y1, wl0, wh0);
                a30 = TProducts.Add(a30, x0, y0, wl1, wh1);
                a31 = TProducts.Add(a31, x1, y1, wl1, wh1);
            }
            requant.Store8(a00, a01, m0, output, p0, count, pixels, mpg, tail);
            requant.Store8(a10, a11, m0 + 1, output, p0, count, pixels, mpg, tail);
            requant.Store8(a20, a21, m0 + 2, output, p0, count, pixels, mpg, tail);
            requant.Store8(a30, a31, m0 + 3, output, p0, count, pixels, mpg, tail);
        }
    }

    /// <summary><see cref="GemmPairs{TProducts}"/> on 4 pixels (1 to 4 of them real) from <paramref name="p0"/>: 4 accumulators.</summary>
    private unsafe void PairsBlock4<TProducts, TEpilogue>(sbyte* columns, int* packed, int p0, int count, int channel0, int mBegin, int mEnd, Span<sbyte> output, Span<sbyte> tail, in TEpilogue epilogue)
        where TProducts : struct, IPairProducts
        where TEpilogue : struct, IInt8Epilogue
    {
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
        // Locals: fields would be read again after every store.
        int pixels = _pixels, mpg = _mpg;
        int steps = _steps;
        nint pairRow = _rowStride * 2;
        for (int m0 = mBegin; m0 < mEnd; m0 += RowBlock)
        {
            sbyte* wk = (sbyte*)(packed + m0 * steps * 4);
            sbyte* end = wk + steps * RowBlock * 16;
            sbyte* lo = columns + p0 * 2;
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; wk < end; wk += RowBlock * 16, lo += 2 * pairRow)
            {
                var x = AdvSimd.LoadVector64(lo);
                var y = AdvSimd.LoadVector64(lo + pairRow);
                var (wl0, wh0, wl1, wh1) = AdvSimd.Load4xVector64(wk);
                a0 = TProducts.Add(a0, x, y, wl0, wh0);
                a1 = TProducts.Add(a1, x, y, wl1, wh1);
                (wl0, wh0, wl1, wh1) = AdvSimd.Load4xVector64(wk + 32);
                a2 = TProducts.Add(a2, x, y, wl0, wh0);
                a3 = TProducts.Add(a3, x, y, wl1, wh1);
            }
            requant.Store8(a0, default, m0, output, p0, count, pixels, mpg, tail);
            requant.Store8(a1, default, m0 + 1, output, p0, count, pixels, mpg, tail);
            requant.Store8(a2, default, m0 + 2, output, p0, count, pixels, mpg, tail);
            requant.Store8(a3, default, m0 + 3, output, p0, count, pixels, mpg, tail);
        }
    }

    /// <summary>The implicit AdvSimd Conv: rows of whole 16-pixel blocks, their operands in the interleaved input.</summary>
    private unsafe void GemmPairsImplicit<TProducts, TEpilogue>(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TProducts : struct, IPairProducts
        where TEpilogue : struct, IInt8Epilogue
    {
        var g = _g;
        nint pairPlane = (nint)_paddedW * _paddedH * 2;
        fixed (sbyte* interleaved = _padded8)
        fixed (int* taps = _implicitTaps)
        fixed (int* packed = weights)
        {
            var walk = new StepWalk(taps, _implicitTaps.Length, _cpg / 4, 2 * pairPlane, pairPlane);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                sbyte* row = interleaved + (nint)oh * g.StrideH * _paddedW * 2;
                for (int ow = 0; ow < g.OutW; ow += 16)
                    PairsBlock16<TProducts, TEpilogue>(row + 2 * ow, packed, walk, oh * g.OutW + ow, 16, channel0, mBegin, mEnd, output, tail, epilogue);
            }
        }
    }

    /// <summary>Implicit AdvSimd: 16 pixels of one output row from <paramref name="p0"/>, every channel block, tap by tap: 16 accumulators.</summary>
    private unsafe void PairsBlock16<TProducts, TEpilogue>(sbyte* src, int* packed, StepWalk walk, int p0, int count, int channel0, int mBegin, int mEnd, Span<sbyte> output, Span<sbyte> tail, in TEpilogue epilogue)
        where TProducts : struct, IPairProducts
        where TEpilogue : struct, IInt8Epilogue
    {
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
        // Locals: fields would be read again after every store.
        int pixels = _pixels, mpg = _mpg;
        int steps = _steps;
        nint stride = walk.StepStride, hiOffset = walk.HiOffset;
        for (int m0 = mBegin; m0 < mEnd; m0 += RowBlock)
        {
            sbyte* wk = (sbyte*)(packed + m0 * steps * 4);
            Vector128<int> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
            Vector128<int> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
            for (int t = 0; t < walk.TapCount; t++)
            {
                sbyte* lo = src + walk.Taps[t];
                sbyte* end = wk + walk.StepsPerTap * RowBlock * 16;
                sbyte* pairsEnd = wk + (walk.StepsPerTap & ~1) * RowBlock * 16;
                for (; wk < pairsEnd; wk += 2 * RowBlock * 16, lo += 2 * stride)
                {
                    PairsStep16<TProducts>(lo, lo + hiOffset, wk, ref a00, ref a01, ref a02, ref a03, ref a10, ref a11, ref a12, ref a13, ref a20, ref a21, ref a22, ref a23, ref a30, ref a31, ref a32, ref a33);
                    PairsStep16<TProducts>(lo + stride, lo + stride + hiOffset, wk + RowBlock * 16, ref a00, ref a01, ref a02, ref a03, ref a10, ref a11, ref a12, ref a13, ref a20, ref a21, ref a22, ref a23, ref a30, ref a31, ref a32, ref a33);
                }
                if (wk < end)
                {
                    PairsStep16<TProducts>(lo, lo + hiOffset, wk, ref a00, ref a01, ref a02, ref a03, ref a10, ref a11, ref a12, ref a13, ref a20, ref a21, ref a22, ref a23, ref a30, ref a31, ref a32, ref a33);
                    wk = end;
                }
            }
            requant.Store16(a00, a01, a02, a03, m0, output, p0, count, pixels, mpg, tail);
            requant.Store16(a10, a11, a12, a13, m0 + 1, output, p0, count, pixels, mpg, tail);
            requant.Store16(a20, a21, a22, a23, m0 + 2, output, p0, count, pixels, mpg, tail);
            requant.Store16(a30, a31, a32, a33, m0 + 3, output, p0, count, pixels, mpg, tail);
        }
    }

    /// <summary>
    /// 4 output channels × 16 pixels per block: per tap quadruplet, two 32-byte loads of columns (8 pixels × 4
    /// unsigned taps each) and 4 weight broadcasts feed 8 vpdpbusd.
    /// </summary>
    private void GemmVnni<TEpilogue>(ReadOnlySpan<int> weights, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        ref byte columns = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetArrayDataReference(_columns8));
        int steps = _steps, stride = _rowStride * 4;
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
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
