using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// Bilinear resizing of the last two axes of a rank-4 tensor (ONNX Resize, mode linear): each output element
/// interpolates the four input elements around its input coordinate, clamped to the input. int8 keeps the input's
/// quantization and interpolates the stored values with 10-bit fixed-point weights, as TFLite's int8 resize_bilinear
/// does: the weights of a pixel sum to exactly 2^20, so the zero point passes through unchanged.
/// </summary>
internal sealed class LinearResizeKernel : OpKernel
{
    internal const int WeightBits = 10;
    internal const int One = 1 << WeightBits;

    private readonly int _x, _y, _planes, _inH, _inW, _outH, _outW;
    private readonly bool _int8;
    /// <summary>Per output row (and column): the two input rows (columns) and the weight of the second.</summary>
    private readonly int[] _row0, _row1, _col0, _col1;
    private readonly float[] _rowWeight, _colWeight;
    private readonly int[] _rowWeightQ, _colWeightQ;

    /// <summary>The tables, shared with the vector variants (<see cref="Optimized.UpsampleLinearVector"/>) so they blend the same neighbours with the same weights.</summary>
    internal (int Planes, int InH, int InW, int OutH, int OutW) Shape => (_planes, _inH, _inW, _outH, _outW);
    internal (int[] First, int[] Second, float[] Weight, int[] WeightQ) Rows => (_row0, _row1, _rowWeight, _rowWeightQ);
    internal (int[] First, int[] Second, float[] Weight, int[] WeightQ) Columns => (_col0, _col1, _colWeight, _colWeightQ);

    public LinearResizeKernel(KernelSetup s, DataType type)
    {
        s.ExpectCounts(1, 1, 1);
        var x = s.Input(0);
        var y = s.Output(0);
        s.ExpectType(x, type);
        s.ExpectType(y, type);
        if (x.Rank != 4 || y.Rank != 4 || x.Shape[0] != y.Shape[0] || x.Shape[1] != y.Shape[1])
            throw s.Fail($"input [{ShapeUtil.Format(x.Shape)}] and output [{ShapeUtil.Format(y.Shape)}]: linear mode resizes the last two axes of a rank-4 tensor");
        var scales = s.Attributes.GetFloats(AttributeKey.Scales);
        if (scales is not { Length: 4 } || !(scales[2] > 0) || !(scales[3] > 0)) throw s.Fail("needs a positive scale for each of the 4 axes");
        var coordinates = (ResizeCoordinates)s.Attributes.GetInt(AttributeKey.CoordinateTransform, 0);
        if (!Enum.IsDefined(coordinates)) throw s.Fail($"coordinate transform {(int)coordinates} is unknown");
        _planes = x.Shape[0] * x.Shape[1];
        (_inH, _inW, _outH, _outW) = (x.Shape[2], x.Shape[3], y.Shape[2], y.Shape[3]);
        (_row0, _row1, _rowWeight) = Axis(_inH, _outH, scales[2], coordinates);
        (_col0, _col1, _colWeight) = Axis(_inW, _outW, scales[3], coordinates);
        _rowWeightQ = Array.ConvertAll(_rowWeight, w => (int)MathF.Round(w * One));
        _colWeightQ = Array.ConvertAll(_colWeight, w => (int)MathF.Round(w * One));
        _int8 = type == DataType.Int8;
        _x = s.InputId(0);
        _y = s.OutputId(0);
        Name = $"Upsample{ShapeKernels.Suffix(type)}_Reference";
    }

    public override string Name { get; }

    /// <summary>
    /// ONNX's coordinate of each output index along one axis, clamped to [0, input − 1], split into neighbours and
    /// weight. As in ONNX's reference, the resized length in these formulas is input · scale, not rounded to the output size.
    /// </summary>
    private static (int[] First, int[] Second, float[] Weight) Axis(int input, int output, float scale, ResizeCoordinates mode)
    {
        var first = new int[output];
        var second = new int[output];
        var weight = new float[output];
        float length = input * scale;
        for (int o = 0; o < output; o++)
        {
            float c = mode switch
            {
                ResizeCoordinates.HalfPixel => (o + 0.5f) / scale - 0.5f,
                ResizeCoordinates.PytorchHalfPixel => length > 1 ? (o + 0.5f) / scale - 0.5f : 0f,
                ResizeCoordinates.AlignCorners => length != 1 ? o * (input - 1) / (length - 1) : 0f,
                _ => o / scale,
            };
            c = Math.Clamp(c, 0f, input - 1);
            int i = Math.Min((int)c, input - 1);
            first[o] = i;
            second[o] = Math.Min(i + 1, input - 1);
            weight[o] = c - i;
        }
        return (first, second, weight);
    }

    public override void Run(TensorMemory memory)
    {
        if (_int8) Resize(memory.Read<sbyte>(_x), memory.Write<sbyte>(_y), new Int8Blend(_rowWeightQ, _colWeightQ));
        else Resize(memory.Read<float>(_x), memory.Write<float>(_y), new FloatBlend(_rowWeight, _colWeight));
    }

    /// <summary>Walks the output in order, handing each element's four input neighbours to the blend of its element type.</summary>
    private void Resize<T, TBlend>(ReadOnlySpan<T> x, Span<T> y, TBlend blend) where T : unmanaged where TBlend : struct, IBlend<T>
    {
        int o = 0;
        for (int p = 0; p < _planes; p++)
        {
            var plane = x.Slice(p * _inH * _inW, _inH * _inW);
            for (int r = 0; r < _outH; r++)
            {
                var top = plane.Slice(_row0[r] * _inW, _inW);
                var bottom = plane.Slice(_row1[r] * _inW, _inW);
                for (int c = 0; c < _outW; c++)
                    y[o++] = blend.Blend(top[_col0[c]], top[_col1[c]], bottom[_col0[c]], bottom[_col1[c]], r, c);
            }
        }
    }

    private interface IBlend<T>
    {
        /// <summary>The value at output row r, column c from its neighbours (top-left, top-right, bottom-left, bottom-right).</summary>
        T Blend(T x00, T x01, T x10, T x11, int r, int c);
    }

    private readonly struct FloatBlend(float[] rowWeight, float[] colWeight) : IBlend<float>
    {
        public float Blend(float x00, float x01, float x10, float x11, int r, int c)
        {
            float wx = colWeight[c];
            float t = x00 + (x01 - x00) * wx;
            float b = x10 + (x11 - x10) * wx;
            return t + (b - t) * rowWeight[r];
        }
    }

    /// <summary>Stored int8 values with weights in units of 2^-10; the sum is rounded half up at 2^-20.</summary>
    private readonly struct Int8Blend(int[] rowWeight, int[] colWeight) : IBlend<sbyte>
    {
        public sbyte Blend(sbyte x00, sbyte x01, sbyte x10, sbyte x11, int r, int c)
        {
            int wx = colWeight[c], wy = rowWeight[r];
            int t = x00 * (One - wx) + x01 * wx;
            int b = x10 * (One - wx) + x11 * wx;
            return (sbyte)((t * (One - wy) + b * wy + (1 << (2 * WeightBits - 1))) >> (2 * WeightBits));
        }
    }
}
