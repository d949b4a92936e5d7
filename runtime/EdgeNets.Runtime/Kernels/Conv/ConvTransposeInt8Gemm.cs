using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 ConvTranspose as one GEMM per group and image followed by col2im: the columns Col[r, p] = Σ_c W[c, r]·(X[c, p] − zx)
/// for every output channel and kernel tap r = (m, kh, kw) and every input pixel p, then each column added to the
/// output pixel its tap lands on (oh = ih·strideH − padTop + kh·dilationH, likewise along W), then the reference's
/// per-channel requantization.
/// <para>
/// Exactness: the sums are int32, whose wrap-around addition is associative, so the GEMM's order and col2im's give the
/// reference's accumulator; the scatter visits exactly the (input pixel, tap) pairs the reference's gather does.
/// x − zx is in [−255, 255] and stored as int16 pairs of channels, multiplied with vpmaddwd / pmaddwd (which cannot
/// saturate for such operands) or smlal (products kept apart in even and odd lanes, one pairwise add at the end).
/// </para>
/// <para>
/// Layouts: the input's channel pairs with the pair's two values adjacent per pixel (pixels padded to whole 32-pixel
/// blocks with zeros); the weights of 4 GEMM rows packed per channel pair as one int32 each, so a broadcast feeds a
/// row of pixels. Register block: 4 rows × 2 vectors of pixels (AdvSimd: 4 accumulators per row for its even and odd lanes).
/// </para>
/// </summary>
internal sealed class ConvTransposeInt8Gemm : OpKernel
{
    private const int RowBlock = 4;
    /// <summary>Pixels per GEMM block on the widest instruction set (AVX-512: 2 × 16); narrower ones take several blocks.</summary>
    private const int PixelBlock = 32;

    private readonly string _name;
    private readonly Isa _isa;
    /// <summary>arm64 (AdvSimd, and Vector128 there): smlal products and the AdvSimd requantization.</summary>
    private readonly bool _neon;
    private readonly int _x, _y;
    private readonly ConvTransposeKernels.ConvTransposeShape _g;
    private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max;
    private readonly int[] _multipliers, _shifts, _bias;
    private readonly int _steps, _rows, _rowBlocks, _pixels, _paddedPixels, _outPixels, _paddedOutPixels;
    /// <summary>Per group, per block of 4 GEMM rows, per channel pair: 4 int32 of packed weight pairs.</summary>
    private readonly int[] _packedWeights;
    /// <summary>One group's input channel pairs, x − zx as int16, pixel-interleaved.</summary>
    private readonly short[] _pairs;
    /// <summary>One group's GEMM result, [rows][padded pixels].</summary>
    private readonly int[] _columns;
    /// <summary>One group's output accumulators, [channels][padded output pixels].</summary>
    private readonly int[] _accumulators;
    private readonly sbyte[] _tail = new sbyte[16];

    public static bool CanHandle(KernelSetup s)
    {
        var g = new ConvTransposeKernels.ConvTransposeShape(s, DataType.Int8, DataType.Int32);
        // The scratch stays within int indexing.
        return (long)g.OutChannelsPerGroup * g.KernelH * g.KernelW * (g.H * g.W + PixelBlock) < 1 << 28;
    }

    public ConvTransposeInt8Gemm(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _isa = isa;
        _neon = isa is Isa.AdvSimd or Isa.Vector128 && AdvSimd.Arm64.IsSupported;
        _g = new ConvTransposeKernels.ConvTransposeShape(s, DataType.Int8, DataType.Int32);
        var g = _g;
        (_inputZeroPoint, _outputZeroPoint, _multipliers, _shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, g.OutChannels);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        _bias = new int[g.OutChannels];
        if (s.HasInput(2)) MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span).CopyTo(_bias);

        int kernelSize = g.KernelH * g.KernelW, cpg = g.InChannelsPerGroup;
        _steps = (cpg + 1) / 2;
        _rows = g.OutChannelsPerGroup * kernelSize;
        _rowBlocks = (_rows + RowBlock - 1) / RowBlock;
        _pixels = g.H * g.W;
        _paddedPixels = (_pixels + PixelBlock - 1) / PixelBlock * PixelBlock;
        _outPixels = g.OutH * g.OutW;
        _paddedOutPixels = (_outPixels + 15) / 16 * 16;

        // Weights [M, C/group, kH, kW]: GEMM row r = (m, kh, kw) of group grp, channel c → W[grp·mpg + m, c, kh, kw].
        var weights = MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span);
        _packedWeights = new int[g.Group * _rowBlocks * _steps * RowBlock];
        for (int grp = 0; grp < g.Group; grp++)
            for (int b = 0; b < _rowBlocks; b++)
                for (int step = 0; step < _steps; step++)
                    for (int i = 0; i < RowBlock; i++)
                    {
                        int r = b * RowBlock + i, packed = 0;
                        for (int t = 0; t < 2; t++)
                        {
                            int c = 2 * step + t;
                            int w = r < _rows && c < cpg ? weights[((grp * g.OutChannelsPerGroup + r / kernelSize) * cpg + c) * kernelSize + r % kernelSize] : 0;
                            packed |= (ushort)(short)w << (16 * t);
                        }
                        _packedWeights[((grp * _rowBlocks + b) * _steps + step) * RowBlock + i] = packed;
                    }
        _pairs = new short[_steps * _paddedPixels * 2];
        _columns = new int[_rowBlocks * RowBlock * _paddedPixels];
        _accumulators = new int[g.OutChannelsPerGroup * _paddedOutPixels];
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        var g = _g;
        int cpg = g.InChannelsPerGroup, mpg = g.OutChannelsPerGroup;
        for (int n = 0; n < g.N; n++)
            for (int grp = 0; grp < g.Group; grp++)
            {
                PackPairs(x.Slice((n * g.C + grp * cpg) * _pixels, cpg * _pixels), cpg);
                var weights = new ReadOnlySpan<int>(_packedWeights, grp * _rowBlocks * _steps * RowBlock, _rowBlocks * _steps * RowBlock);
                if (_neon) GemmNeon(weights);
                else if (_isa == Isa.Avx512) Gemm<Vector512<int>, Pairs512>(weights);
                else if (_isa == Isa.Avx2) Gemm<Vector256<int>, Pairs256>(weights);
                else Gemm<Vector128<int>, Pairs128>(weights);
                Scatter();
                Store(y.Slice((n * g.OutChannels + grp * mpg) * _outPixels, mpg * _outPixels), grp * mpg);
            }
    }

    /// <summary>x − zx of one group's channels as int16 pairs (channel 2s, 2s + 1 adjacent per pixel); an odd last channel pairs with zero.</summary>
    private void PackPairs(ReadOnlySpan<sbyte> x, int channels)
    {
        int zx = _inputZeroPoint, pixels = _pixels, padded = _paddedPixels;
        var pairs = MemoryMarshal.Cast<short, int>(_pairs.AsSpan());
        var zero = Vector128.Create(zx);
        for (int step = 0; step < _steps; step++)
        {
            var row = pairs.Slice(step * padded, padded);
            var first = x.Slice(2 * step * pixels, pixels);
            var second = 2 * step + 1 < channels ? x.Slice((2 * step + 1) * pixels, pixels) : default;
            ref int target = ref MemoryMarshal.GetReference(row);
            // An unpaired last channel (b = 0) must store 0, not −zx.
            var secondZero = second.IsEmpty ? Vector128<int>.Zero : zero;
            int p = 0;
            for (; p + 16 <= pixels; p += 16)
            {
                var (a0, a1) = Vector128.Widen(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(first), (nuint)p));
                var (b0, b1) = second.IsEmpty ? (default, default) : Vector128.Widen(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(second), (nuint)p));
                Pair(a0, b0, zero, secondZero, ref Unsafe.Add(ref target, p));
                Pair(a1, b1, zero, secondZero, ref Unsafe.Add(ref target, p + 8));
            }
            for (; p < pixels; p++)
                row[p] = (first[p] - zx) & 0xFFFF | (second.IsEmpty ? 0 : (second[p] - zx) << 16);
            // Padded pixels stay zero from construction.
        }
    }

    /// <summary>Pixels of two channels as int16 pairs (a − za, b − zb), one int32 per pixel.</summary>
    private static void Pair(Vector128<short> a, Vector128<short> b, Vector128<int> za, Vector128<int> zb, ref int destination)
    {
        var low = Vector128.Create(0xFFFF);
        var (a0, a1) = Vector128.Widen(a);
        var (b0, b1) = Vector128.Widen(b);
        ((a0 - za) & low | (b0 - zb) << 16).StoreUnsafe(ref destination);
        ((a1 - za) & low | (b1 - zb) << 16).StoreUnsafe(ref destination, 4);
    }

    /// <summary>The x86 GEMM, written once over the vector width: 4 rows × 2 vectors of pixels per block.</summary>
    private void Gemm<TVec, TLanes>(ReadOnlySpan<int> weights) where TVec : struct where TLanes : struct, IPairLanes<TVec>
    {
        ref short pairs = ref MemoryMarshal.GetArrayDataReference(_pairs);
        ref int columns = ref MemoryMarshal.GetArrayDataReference(_columns);
        int steps = _steps, stride = _paddedPixels * 2, padded = _paddedPixels, lanes = TLanes.Count;
        nuint second = (nuint)lanes * 2, row = (nuint)padded;
        for (int p0 = 0; p0 < padded; p0 += 2 * lanes)
            for (int b = 0; b < _rowBlocks; b++)
            {
                ref int wk = ref Unsafe.AsRef(in weights[b * steps * RowBlock]);
                ref short col = ref Unsafe.Add(ref pairs, p0 * 2);
                TVec a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
                for (int step = 0; step < steps; step++)
                {
                    var x0 = TLanes.LoadPairs(ref col, 0);
                    var x1 = TLanes.LoadPairs(ref col, second);
                    var w0 = TLanes.Broadcast(wk);
                    var w1 = TLanes.Broadcast(Unsafe.Add(ref wk, 1));
                    var w2 = TLanes.Broadcast(Unsafe.Add(ref wk, 2));
                    var w3 = TLanes.Broadcast(Unsafe.Add(ref wk, 3));
                    a00 = TLanes.MultiplyAddPairs(a00, x0, w0);
                    a01 = TLanes.MultiplyAddPairs(a01, x1, w0);
                    a10 = TLanes.MultiplyAddPairs(a10, x0, w1);
                    a11 = TLanes.MultiplyAddPairs(a11, x1, w1);
                    a20 = TLanes.MultiplyAddPairs(a20, x0, w2);
                    a21 = TLanes.MultiplyAddPairs(a21, x1, w2);
                    a30 = TLanes.MultiplyAddPairs(a30, x0, w3);
                    a31 = TLanes.MultiplyAddPairs(a31, x1, w3);
                    col = ref Unsafe.Add(ref col, stride);
                    wk = ref Unsafe.Add(ref wk, RowBlock);
                }
                ref int out0 = ref Unsafe.Add(ref columns, b * RowBlock * padded + p0);
                TLanes.Store(a00, ref out0, 0);
                TLanes.Store(a01, ref out0, (nuint)lanes);
                TLanes.Store(a10, ref out0, row);
                TLanes.Store(a11, ref out0, row + (nuint)lanes);
                TLanes.Store(a20, ref out0, 2 * row);
                TLanes.Store(a21, ref out0, 2 * row + (nuint)lanes);
                TLanes.Store(a30, ref out0, 3 * row);
                TLanes.Store(a31, ref out0, 3 * row + (nuint)lanes);
            }
    }

    /// <summary>
    /// smlal/smlal2 keep a pair's two products in separate lanes (even: first channel, odd: second) across the sum; one
    /// pairwise add per row at the end folds them into one int32 per pixel. 4 rows × 8 pixels.
    /// </summary>
    private void GemmNeon(ReadOnlySpan<int> weights)
    {
        ref short pairs = ref MemoryMarshal.GetArrayDataReference(_pairs);
        ref int columns = ref MemoryMarshal.GetArrayDataReference(_columns);
        int steps = _steps, stride = _paddedPixels * 2, padded = _paddedPixels;
        for (int p0 = 0; p0 < padded; p0 += 8)
            for (int b = 0; b < _rowBlocks; b++)
            {
                ref int wk = ref Unsafe.AsRef(in weights[b * steps * RowBlock]);
                ref short col = ref Unsafe.Add(ref pairs, p0 * 2);
                Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
                Vector128<int> c0 = default, c1 = default, c2 = default, c3 = default, d0 = default, d1 = default, d2 = default, d3 = default;
                for (int step = 0; step < steps; step++)
                {
                    var x0 = Vector128.LoadUnsafe(ref col);
                    var x1 = Vector128.LoadUnsafe(ref col, 8);
                    var w = Vector128.Create(wk).AsInt16();
                    a0 = AdvSimd.MultiplyWideningLowerAndAdd(a0, x0.GetLower(), w.GetLower());
                    a1 = AdvSimd.MultiplyWideningUpperAndAdd(a1, x0, w);
                    a2 = AdvSimd.MultiplyWideningLowerAndAdd(a2, x1.GetLower(), w.GetLower());
                    a3 = AdvSimd.MultiplyWideningUpperAndAdd(a3, x1, w);
                    w = Vector128.Create(Unsafe.Add(ref wk, 1)).AsInt16();
                    b0 = AdvSimd.MultiplyWideningLowerAndAdd(b0, x0.GetLower(), w.GetLower());
                    b1 = AdvSimd.MultiplyWideningUpperAndAdd(b1, x0, w);
                    b2 = AdvSimd.MultiplyWideningLowerAndAdd(b2, x1.GetLower(), w.GetLower());
                    b3 = AdvSimd.MultiplyWideningUpperAndAdd(b3, x1, w);
                    w = Vector128.Create(Unsafe.Add(ref wk, 2)).AsInt16();
                    c0 = AdvSimd.MultiplyWideningLowerAndAdd(c0, x0.GetLower(), w.GetLower());
                    c1 = AdvSimd.MultiplyWideningUpperAndAdd(c1, x0, w);
                    c2 = AdvSimd.MultiplyWideningLowerAndAdd(c2, x1.GetLower(), w.GetLower());
                    c3 = AdvSimd.MultiplyWideningUpperAndAdd(c3, x1, w);
                    w = Vector128.Create(Unsafe.Add(ref wk, 3)).AsInt16();
                    d0 = AdvSimd.MultiplyWideningLowerAndAdd(d0, x0.GetLower(), w.GetLower());
                    d1 = AdvSimd.MultiplyWideningUpperAndAdd(d1, x0, w);
                    d2 = AdvSimd.MultiplyWideningLowerAndAdd(d2, x1.GetLower(), w.GetLower());
                    d3 = AdvSimd.MultiplyWideningUpperAndAdd(d3, x1, w);
                    col = ref Unsafe.Add(ref col, stride);
                    wk = ref Unsafe.Add(ref wk, RowBlock);
                }
                ref int out0 = ref Unsafe.Add(ref columns, b * RowBlock * padded + p0);
                AdvSimd.Arm64.AddPairwise(a0, a1).StoreUnsafe(ref out0);
                AdvSimd.Arm64.AddPairwise(a2, a3).StoreUnsafe(ref out0, 4);
                AdvSimd.Arm64.AddPairwise(b0, b1).StoreUnsafe(ref out0, (nuint)padded);
                AdvSimd.Arm64.AddPairwise(b2, b3).StoreUnsafe(ref out0, (nuint)padded + 4);
                AdvSimd.Arm64.AddPairwise(c0, c1).StoreUnsafe(ref out0, (nuint)(2 * padded));
                AdvSimd.Arm64.AddPairwise(c2, c3).StoreUnsafe(ref out0, (nuint)(2 * padded) + 4);
                AdvSimd.Arm64.AddPairwise(d0, d1).StoreUnsafe(ref out0, (nuint)(3 * padded));
                AdvSimd.Arm64.AddPairwise(d2, d3).StoreUnsafe(ref out0, (nuint)(3 * padded) + 4);
            }
    }

    /// <summary>
    /// col2im: each GEMM row (m, kh, kw) added, input row by input row, to the output pixels its tap reaches. Kernels
    /// 2 wide at stride 2 with no left pad and room for every tap (the U-Net's 2x2/2) add the rows of kw = 0 and 1
    /// together, interleaved, as one contiguous run.
    /// </summary>
    private void Scatter()
    {
        var g = _g;
        var acc = _accumulators.AsSpan();
        acc.Clear();
        var columns = _columns.AsSpan();
        int kernelSize = g.KernelH * g.KernelW;
        bool interleave = g.KernelW == 2 && g.StrideW == 2 && g.DilationW == 1 && g.PadLeft == 0 && 2 * g.W <= g.OutW
            && (Sse2.IsSupported || AdvSimd.Arm64.IsSupported);
        for (int r = 0; r < _rows; r++)
        {
            int m = r / kernelSize, kh = r % kernelSize / g.KernelW, kw = r % g.KernelW;
            var plane = acc.Slice(m * _paddedOutPixels, _outPixels);
            var column = columns.Slice(r * _paddedPixels, _pixels);
            if (interleave)
            {
                var next = columns.Slice((r + 1) * _paddedPixels, _pixels);
                for (int ih = 0; ih < g.H; ih++)
                {
                    int oh = ih * g.StrideH - g.PadTop + kh * g.DilationH;
                    if ((uint)oh < (uint)g.OutH) AddInterleaved(plane.Slice(oh * g.OutW, 2 * g.W), column.Slice(ih * g.W, g.W), next.Slice(ih * g.W, g.W));
                }
                r++;
                continue;
            }
            int left = kw * g.DilationW - g.PadLeft;
            // Input columns whose output column left + iw·strideW lies in [0, OutW).
            int iwBegin = left >= 0 ? 0 : (-left + g.StrideW - 1) / g.StrideW;
            int iwEnd = Math.Min(g.W, left >= g.OutW ? 0 : (g.OutW - 1 - left) / g.StrideW + 1);
            if (iwBegin >= iwEnd) continue;
            for (int ih = 0; ih < g.H; ih++)
            {
                int oh = ih * g.StrideH - g.PadTop + kh * g.DilationH;
                if ((uint)oh >= (uint)g.OutH) continue;
                var source = column.Slice(ih * g.W + iwBegin, iwEnd - iwBegin);
                var target = plane.Slice(oh * g.OutW + left + iwBegin * g.StrideW);
                if (g.StrideW == 1) AddInto(target, source);
                else
                {
                    int stride = g.StrideW;
                    for (int i = 0; i < source.Length; i++) target[i * stride] += source[i];
                }
            }
        }
    }

    /// <summary>target[2i] += even[i], target[2i + 1] += odd[i].</summary>
    private static void AddInterleaved(Span<int> target, ReadOnlySpan<int> even, ReadOnlySpan<int> odd)
    {
        ref int t = ref MemoryMarshal.GetReference(target);
        ref int e = ref MemoryMarshal.GetReference(even);
        ref int o = ref MemoryMarshal.GetReference(odd);
        int i = 0;
        for (; i + 4 <= even.Length; i += 4)
        {
            var a = Vector128.LoadUnsafe(ref e, (nuint)i);
            var b = Vector128.LoadUnsafe(ref o, (nuint)i);
            var (low, high) = Sse2.IsSupported ? (Sse2.UnpackLow(a, b), Sse2.UnpackHigh(a, b)) : (AdvSimd.Arm64.ZipLow(a, b), AdvSimd.Arm64.ZipHigh(a, b));
            (Vector128.LoadUnsafe(ref t, (nuint)(2 * i)) + low).StoreUnsafe(ref t, (nuint)(2 * i));
            (Vector128.LoadUnsafe(ref t, (nuint)(2 * i + 4)) + high).StoreUnsafe(ref t, (nuint)(2 * i + 4));
        }
        for (; i < even.Length; i++)
        {
            target[2 * i] += even[i];
            target[2 * i + 1] += odd[i];
        }
    }

    private static void AddInto(Span<int> target, ReadOnlySpan<int> source)
    {
        int i = 0;
        ref int t = ref MemoryMarshal.GetReference(target);
        ref int s = ref MemoryMarshal.GetReference(source);
        for (; i + 4 <= source.Length; i += 4)
            (Vector128.LoadUnsafe(ref t, (nuint)i) + Vector128.LoadUnsafe(ref s, (nuint)i)).StoreUnsafe(ref t, (nuint)i);
        for (; i < source.Length; i++) target[i] += source[i];
    }

    /// <summary>Requantizes the group's accumulators (bias added there) into its output channels.</summary>
    private void Store(Span<sbyte> output, int channel0)
    {
        var requant = new Requantizer(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0);
        ref int acc = ref MemoryMarshal.GetArrayDataReference(_accumulators);
        int mpg = _g.OutChannelsPerGroup, pixels = _outPixels;
        var tail = _tail.AsSpan();
        for (int m = 0; m < mpg; m++)
        {
            ref int plane = ref Unsafe.Add(ref acc, m * _paddedOutPixels);
            for (int p0 = 0; p0 < pixels; p0 += 16)
            {
                int count = Math.Min(16, pixels - p0);
                switch (_neon ? Isa.AdvSimd : _isa)
                {
                    case Isa.Avx512:
                        requant.Store16(Vector512.LoadUnsafe(ref plane, (nuint)p0), m, output, p0, count, pixels, mpg, tail);
                        break;
                    case Isa.Avx2:
                        requant.Store16(Vector256.LoadUnsafe(ref plane, (nuint)p0), Vector256.LoadUnsafe(ref plane, (nuint)p0 + 8), m, output, p0, count, pixels, mpg, tail);
                        break;
                    case Isa.AdvSimd:
                        requant.Store16(Vector128.LoadUnsafe(ref plane, (nuint)p0), Vector128.LoadUnsafe(ref plane, (nuint)p0 + 4),
                            Vector128.LoadUnsafe(ref plane, (nuint)p0 + 8), Vector128.LoadUnsafe(ref plane, (nuint)p0 + 12), m, output, p0, count, pixels, mpg, tail);
                        break;
                    default:
                        requant.Store8(Vector128.LoadUnsafe(ref plane, (nuint)p0), Vector128.LoadUnsafe(ref plane, (nuint)p0 + 4), m, output, p0, Math.Min(8, count), pixels, mpg, tail);
                        if (count > 8)
                            requant.Store8(Vector128.LoadUnsafe(ref plane, (nuint)p0 + 8), Vector128.LoadUnsafe(ref plane, (nuint)p0 + 12), m, output, p0 + 8, count - 8, pixels, mpg, tail);
                        break;
                }
            }
        }
    }
}
