using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 depthwise Conv for AArch64 NEON with the channels along the vector lanes, for small maps: one channel's plane
/// (a 3x3 or 6x6 map at the end of a mobile network) fills 16-pixel blocks poorly, 16 channels always fill a vector.
/// <para>
/// For each group of 16 channels the input planes are transposed (16 x 16 byte tiles) into a buffer of one 16-byte row
/// per input pixel, and one more row holding the input zero point stands for every padded position. Each output pixel is
/// then a sum over its taps of (its input row) x (the tap's 16 weights): SMULL/SMLAL of two taps into int16, SADDW into
/// int32, a table giving each (pixel, tap) its input row. The input zero point is folded into the bias
/// (Σ (x − zx)·w = Σ x·w − zx·Σ w, padding reads zx), as in <see cref="DepthwiseConvInt8AdvSimd"/>, which also explains
/// why two products may share int16 unless both weights are -128. Requantization is per lane (each lane one channel);
/// 16 pixels' outputs are transposed back into the channels' planes.
/// </para>
/// </summary>
internal sealed class DepthwiseConvInt8ChannelLanes : OpKernel
{
    private const int Lanes = 16;
    /// <summary>Largest (output pixels x taps) and input pixels the tables are built for: small maps only.</summary>
    private const int MaxTableEntries = 1 << 16, MaxInputPixels = 1 << 14;

    private readonly string _name;
    private readonly int _x, _y, _groups, _pixels, _inputPixels, _taps;
    private readonly Window2d _g;
    private readonly sbyte _inputZeroPoint;
    /// <summary>Per group, per tap: the 16 channels' weights (0 past the last channel).</summary>
    private readonly sbyte[] _weights;
    /// <summary>Per group: bias − zx·Σ w, multiplier, max(shift, 0), min(shift, 0), int.MinValue where shift &lt; 0, 16 lanes each.</summary>
    private readonly int[] _bias, _multipliers, _left, _right, _negativeOnly;
    /// <summary>Per group: no channel has two consecutive taps (2t, 2t + 1) of weight -128, so pairs may sum in int16.</summary>
    private readonly bool[] _pairs;
    /// <summary>Per output pixel, per tap: the byte offset of its input row in <see cref="_rows"/> (the zero-point row when padded).</summary>
    private readonly nint[] _tapRows;
    /// <summary>One 16-byte row per input pixel of the current group, then the zero-point row.</summary>
    private readonly sbyte[] _rows;
    /// <summary>16 pixels' outputs (a row per pixel), and their transpose (a row per channel) when it cannot go straight to the output.</summary>
    private readonly sbyte[] _tile = new sbyte[Lanes * Lanes], _transposed = new sbyte[Lanes * Lanes];
    private readonly Vector128<int> _zero;
    private readonly Vector128<sbyte> _min, _max;

    public static bool CanHandle(KernelSetup s)
    {
        if (!ConvInt8Gemm.CanHandle(s, depthwise: true)) return false;
        var g = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32).Window;
        return (long)g.OutH * g.OutW * g.KernelH * g.KernelW <= MaxTableEntries && (long)g.H * g.W <= MaxInputPixels;
    }

    public DepthwiseConvInt8ChannelLanes(KernelSetup s, string name)
    {
        _name = name;
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        var (zx, zeroPoint, multipliers, shifts, min, max) = ConvKernels.Int8Requantization.Read(s, shape.OutChannels);
        _inputZeroPoint = (sbyte)zx;
        _zero = Vector128.Create(zeroPoint);
        _min = Vector128.Create((sbyte)min);
        _max = Vector128.Create((sbyte)max);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        var g = _g = shape.Window;
        _pixels = g.OutH * g.OutW;
        _inputPixels = g.H * g.W;
        _taps = g.KernelH * g.KernelW;
        _groups = (g.C + Lanes - 1) / Lanes;

        var weights = MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span);
        var bias = s.HasInput(2) ? MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span) : default;
        int lanes = _groups * Lanes;
        _weights = new sbyte[lanes * _taps];
        _bias = new int[lanes];
        _multipliers = new int[lanes];
        _left = new int[lanes];
        _right = new int[lanes];
        _negativeOnly = new int[lanes];
        _pairs = new bool[_groups];
        Array.Fill(_pairs, true);
        for (int c = 0; c < g.C; c++)
        {
            int group = c / Lanes, lane = c % Lanes, sum = 0;
            for (int t = 0; t < _taps; t++)
            {
                sbyte w = weights[c * _taps + t];
                _weights[(group * _taps + t) * Lanes + lane] = w;
                sum += w;
                if (t % 2 == 1 && w == -128 && weights[c * _taps + t - 1] == -128) _pairs[group] = false;
            }
            _bias[c] = unchecked((bias.IsEmpty ? 0 : bias[c]) - zx * sum);
            _multipliers[c] = multipliers[c];
            _left[c] = Math.Max(shifts[c], 0);
            _right[c] = Math.Min(shifts[c], 0);
            _negativeOnly[c] = shifts[c] < 0 ? int.MinValue : 0;
        }

        _tapRows = new nint[_pixels * _taps];
        for (int oh = 0; oh < g.OutH; oh++)
            for (int ow = 0; ow < g.OutW; ow++)
                for (int kh = 0; kh < g.KernelH; kh++)
                    for (int kw = 0; kw < g.KernelW; kw++)
                    {
                        int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH, iw = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                        int row = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? ih * g.W + iw : _inputPixels;
                        _tapRows[(oh * g.OutW + ow) * _taps + kh * g.KernelW + kw] = row * Lanes;
                    }
        _rows = new sbyte[(_inputPixels + 1) * Lanes];
        _rows.AsSpan(_inputPixels * Lanes).Fill(_inputZeroPoint);
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        for (int n = 0; n < _g.N; n++)
            for (int group = 0; group < _groups; group++)
            {
                int first = group * Lanes, channels = Math.Min(Lanes, _g.C - first);
                int plane = n * _g.C + first;
                LoadRows(x.Slice(plane * _inputPixels, channels * _inputPixels), channels);
                var output = y.Slice(plane * _pixels, channels * _pixels);
                // Blocks of 16 pixels; the last one overlaps its predecessor (a map of fewer than 16 repeats its last pixel).
                for (int start = 0; start < _pixels; start += Lanes)
                {
                    int block = Math.Max(Math.Min(start, _pixels - Lanes), 0);
                    Block(group, block);
                    StoreBlock(output, channels, block);
                }
            }
    }

    /// <summary>The input planes of one group (<paramref name="channels"/> of them) as one 16-byte row per input pixel.</summary>
    private void LoadRows(ReadOnlySpan<sbyte> planes, int channels) => ChannelLaneTiles.LoadRows(planes, channels, _inputPixels, _rows);

    /// <summary>The 16 channels of group <paramref name="group"/> at output pixels block .. block + 15 (the last pixel repeated past the map) into <see cref="_tile"/>.</summary>
    private void Block(int group, int block)
    {
        int taps = _taps, lanes = group * Lanes, last = _pixels - 1;
        bool pairs = _pairs[group];
        ref sbyte rows = ref MemoryMarshal.GetArrayDataReference(_rows);
        ref sbyte weights = ref _weights[lanes * taps];
        ref nint tapRows = ref MemoryMarshal.GetArrayDataReference(_tapRows);
        ref sbyte tile = ref MemoryMarshal.GetArrayDataReference(_tile);
        ref int biasRef = ref _bias[lanes];
        var b0 = Vector128.LoadUnsafe(ref biasRef);
        var b1 = Vector128.LoadUnsafe(ref biasRef, 4);
        var b2 = Vector128.LoadUnsafe(ref biasRef, 8);
        var b3 = Vector128.LoadUnsafe(ref biasRef, 12);
        for (int j = 0; j < Lanes; j++)
        {
            int pixel = Math.Min(block + j, last);
            // The taps' input rows and weights are walked by reference: no index arithmetic per tap.
            ref nint offset = ref Unsafe.Add(ref tapRows, pixel * taps);
            ref sbyte w = ref weights;
            Vector128<int> a0 = b0, a1 = b1, a2 = b2, a3 = b3;
            int t = taps;
            if (pairs)
                for (; t >= 2; t -= 2, offset = ref Unsafe.Add(ref offset, 2), w = ref Unsafe.Add(ref w, 2 * Lanes))
                {
                    var xa = Vector128.LoadUnsafe(ref Unsafe.Add(ref rows, offset));
                    var xb = Vector128.LoadUnsafe(ref Unsafe.Add(ref rows, Unsafe.Add(ref offset, 1)));
                    var wa = Vector128.LoadUnsafe(ref w);
                    var wb = Vector128.LoadUnsafe(ref w, Lanes);
                    var lo = AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningLower(xa.GetLower(), wa.GetLower()), xb.GetLower(), wb.GetLower());
                    var hi = AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningUpper(xa, wa), xb, wb);
                    a0 = AdvSimd.AddWideningLower(a0, lo.GetLower());
                    a1 = AdvSimd.AddWideningUpper(a1, lo);
                    a2 = AdvSimd.AddWideningLower(a2, hi.GetLower());
                    a3 = AdvSimd.AddWideningUpper(a3, hi);
                }
            for (; t > 0; t--, offset = ref Unsafe.Add(ref offset, 1), w = ref Unsafe.Add(ref w, Lanes))
            {
                var xa = Vector128.LoadUnsafe(ref Unsafe.Add(ref rows, offset));
                var wa = Vector128.LoadUnsafe(ref w);
                var lo = AdvSimd.MultiplyWideningLower(xa.GetLower(), wa.GetLower());
                var hi = AdvSimd.MultiplyWideningUpper(xa, wa);
                a0 = AdvSimd.AddWideningLower(a0, lo.GetLower());
                a1 = AdvSimd.AddWideningUpper(a1, lo);
                a2 = AdvSimd.AddWideningLower(a2, hi.GetLower());
                a3 = AdvSimd.AddWideningUpper(a3, hi);
            }
            Requantize(a0, a1, a2, a3, lanes).StoreUnsafe(ref tile, (nuint)(j * Lanes));
        }
    }

    /// <summary>Per-lane requantization of 16 channels (lanes .. lanes + 15) to int8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector128<sbyte> Requantize(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3, int lanes)
    {
        ref int m = ref _multipliers[lanes];
        ref int left = ref _left[lanes];
        ref int right = ref _right[lanes];
        ref int negative = ref _negativeOnly[lanes];
        a0 = Lane(a0, ref m, ref left, ref right, ref negative, 0);
        a1 = Lane(a1, ref m, ref left, ref right, ref negative, 4);
        a2 = Lane(a2, ref m, ref left, ref right, ref negative, 8);
        a3 = Lane(a3, ref m, ref left, ref right, ref negative, 12);
        return Requantization.NarrowClamp(a0 + _zero, a1 + _zero, a2 + _zero, a3 + _zero, _min, _max);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Lane(Vector128<int> a, ref int m, ref int left, ref int right, ref int negative, nuint i) =>
        Requantization.Rescale(a, Vector128.LoadUnsafe(ref m, i), Vector128.LoadUnsafe(ref left, i), Vector128.LoadUnsafe(ref right, i),
            Vector128.LoadUnsafe(ref negative, i));

    /// <summary>The tile's 16 pixels of each of the group's channels into their planes (<paramref name="output"/>: the group's planes).</summary>
    private void StoreBlock(Span<sbyte> output, int channels, int block) => ChannelLaneTiles.StoreBlock(_tile, _transposed, output, channels, _pixels, block);
}
