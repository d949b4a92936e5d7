using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Float32 depthwise Conv (one input and one output channel per group), written once over the vector width: per channel
/// and output row, the columns whose every tap lies inside the input run a vector of output pixels at a time (a lane per
/// pixel), the border columns one pixel at a time. With a stride above 1, each channel's plane is first split by column
/// phase (column iw goes to phase iw mod stride, position iw / stride), so the pixels of one tap are contiguous.
/// <para>
/// Exactness: every output, lane or scalar, is acc = bias (+0 without bias), then acc += x·w over the taps inside the
/// input in (row, column) order, each product and each sum rounded (no fused multiply-add), then the clamp: the
/// reference's operations in the reference's order, so its bits, NaN and infinities included.
/// </para>
/// </summary>
internal sealed class DepthwiseConvFloat32 : OpKernel
{
    private readonly string _name;
    private readonly bool _wide;
    private readonly int _x, _y;
    private readonly Window2d _g;
    private readonly float _min, _max;
    private readonly float[] _bias, _weights;
    /// <summary>Output columns [_interiorBegin, _interiorEnd) take every column tap.</summary>
    private readonly int _interiorBegin, _interiorEnd;
    /// <summary>Length of one input row as laid out for the taps: the width, or stride x the phase length when split.</summary>
    private readonly int _rowLength;
    /// <summary>Per column tap, the offset of output column 0's input within a laid-out row (negative with left pads).</summary>
    private readonly int[] _columnOffsets;
    /// <summary>One channel's plane split by column phase; empty at stride 1.</summary>
    private readonly float[] _phases;

    public static bool CanHandle(KernelSetup s) => ConvKernels.ConvShape.TryRead(s, DataType.Float32, DataType.Float32) is { IsDepthwise: true };

    public DepthwiseConvFloat32(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _wide = isa == Isa.Avx2;
        var shape = new ConvKernels.ConvShape(s, DataType.Float32, DataType.Float32);
        var g = _g = shape.Window;
        (_min, _max) = ConvKernels.ReadFloatClamp(s);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        _bias = new float[shape.OutChannels];
        if (s.HasInput(2)) s.ConstantInput<float>(2).CopyTo(_bias);
        _weights = s.ConstantInput<float>(1).ToArray();

        while (_interiorBegin < g.OutW && !TakesEveryColumnTap(g, _interiorBegin)) _interiorBegin++;
        _interiorEnd = _interiorBegin;
        while (_interiorEnd < g.OutW && TakesEveryColumnTap(g, _interiorEnd)) _interiorEnd++;

        int stride = g.StrideW, phaseLength = (g.W + stride - 1) / stride;
        _rowLength = stride == 1 ? g.W : stride * phaseLength;
        _phases = stride == 1 ? [] : new float[g.H * _rowLength];
        _columnOffsets = new int[g.KernelW];
        for (int kw = 0; kw < g.KernelW; kw++)
        {
            // Input column of output column ow: ow·stride + offset, i.e. phase p at position ow + q.
            int offset = kw * g.DilationW - g.PadLeft;
            int p = ((offset % stride) + stride) % stride, q = (offset - p) / stride;
            _columnOffsets[kw] = p * phaseLength + q;
        }
    }

    private static bool TakesEveryColumnTap(Window2d g, int ow) => g.ColTapBegin[ow] == 0 && g.ColTapEnd[ow] == g.KernelW;

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        if (_wide) Run<Float256, Vector256<float>>(memory);
        else Run<Float128, Vector128<float>>(memory);
    }

    private void Run<TOps, TVec>(TensorMemory memory) where TOps : struct, IFloatVector<TVec> where TVec : struct
    {
        var x = memory.Read<float>(_x);
        var y = memory.Write<float>(_y);
        var g = _g;
        int plane = g.H * g.W, outPlane = g.OutH * g.OutW, taps = g.KernelH * g.KernelW;
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
            {
                var input = x.Slice((n * g.C + c) * plane, plane);
                Channel<TOps, TVec>(input, SplitByPhase(input), _weights.AsSpan(c * taps, taps), _bias[c], y.Slice((n * g.C + c) * outPlane, outPlane));
            }
    }

    /// <summary>The plane as the vector loop reads it: itself at stride 1, else split by column phase into <see cref="_phases"/>.</summary>
    private ReadOnlySpan<float> SplitByPhase(ReadOnlySpan<float> input)
    {
        var g = _g;
        if (g.StrideW == 1) return input;
        int stride = g.StrideW, phaseLength = _rowLength / stride;
        for (int ih = 0; ih < g.H; ih++)
        {
            var row = input.Slice(ih * g.W, g.W);
            var split = _phases.AsSpan(ih * _rowLength, _rowLength);
            for (int p = 0; p < stride; p++)
                for (int iw = p, j = p * phaseLength; iw < g.W; iw += stride, j++) split[j] = row[iw];
        }
        return _phases;
    }

    private void Channel<TOps, TVec>(ReadOnlySpan<float> input, ReadOnlySpan<float> laidOut, ReadOnlySpan<float> weights, float bias, Span<float> output)
        where TOps : struct, IFloatVector<TVec> where TVec : struct
    {
        var g = _g;
        ref float source = ref MemoryMarshal.GetReference(laidOut);
        ref float w = ref MemoryMarshal.GetReference(weights);
        for (int oh = 0; oh < g.OutH; oh++)
        {
            int ih0 = oh * g.StrideH - g.PadTop, khBegin = g.RowTapBegin[oh], khEnd = g.RowTapEnd[oh];
            var row = output.Slice(oh * g.OutW, g.OutW);
            ref float o = ref MemoryMarshal.GetReference(row);
            int ow = _interiorBegin;
            for (; ow + TOps.Count <= _interiorEnd; ow += TOps.Count)
                Block<TOps, TVec>(ref source, ref w, bias, ih0, khBegin, khEnd, ow, ref o);
            // The 256-bit kernel's tail takes a 128-bit block where one fits.
            if (TOps.Count > Float128.Count && ow + Float128.Count <= _interiorEnd)
            {
                Block<Float128, Vector128<float>>(ref source, ref w, bias, ih0, khBegin, khEnd, ow, ref o);
                ow += Float128.Count;
            }
            for (int col = 0; col < _interiorBegin; col++) row[col] = Pixel(input, weights, bias, ih0, khBegin, khEnd, col);
            for (int col = ow; col < g.OutW; col++) row[col] = Pixel(input, weights, bias, ih0, khBegin, khEnd, col);
        }
    }

    /// <summary>Output columns [ow, ow + lanes) of one row, all interior: bias, then the taps in (row, column) order, then the clamp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Block<TOps, TVec>(ref float source, ref float w, float bias, int ih0, int khBegin, int khEnd, int ow, ref float o)
        where TOps : struct, IFloatVector<TVec> where TVec : struct
    {
        var g = _g;
        ref int offsets = ref MemoryMarshal.GetArrayDataReference(_columnOffsets);
        var acc = TOps.Splat(bias);
        for (int kh = khBegin; kh < khEnd; kh++)
        {
            ref float xRow = ref Unsafe.Add(ref source, (ih0 + kh * g.DilationH) * _rowLength);
            ref float wRow = ref Unsafe.Add(ref w, kh * g.KernelW);
            for (int kw = 0; kw < g.KernelW; kw++)
                acc = TOps.Add(acc, TOps.Multiply(TOps.Load(ref xRow, (nuint)(ow + Unsafe.Add(ref offsets, kw))), TOps.Splat(Unsafe.Add(ref wRow, kw))));
        }
        TOps.Store(TOps.Clamp(acc, TOps.Splat(_min), TOps.Splat(_max)), ref o, (nuint)ow);
    }

    /// <summary>One output pixel as the reference computes it, from the plane as given.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float Pixel(ReadOnlySpan<float> input, ReadOnlySpan<float> weights, float bias, int ih0, int khBegin, int khEnd, int ow)
    {
        var g = _g;
        int iw0 = ow * g.StrideW - g.PadLeft, kwBegin = g.ColTapBegin[ow], kwEnd = g.ColTapEnd[ow];
        float acc = bias;
        for (int kh = khBegin; kh < khEnd; kh++)
        {
            int xRow = (ih0 + kh * g.DilationH) * g.W + iw0, wRow = kh * g.KernelW;
            for (int kw = kwBegin; kw < kwEnd; kw++)
                acc += input[xRow + kw * g.DilationW] * weights[wRow + kw];
        }
        return Math.Clamp(acc, _min, _max);
    }
}
