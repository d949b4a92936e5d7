using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// MaxPool and AveragePool over NCW/NCHW (1-D pools are the 2-D case with H = 1), GlobalMaxPool and GlobalAveragePool
/// over any spatial rank. Int8 pools keep the input's scale and zero point; padding never takes part in a max, and an
/// average counts it (as the zero point, i.e. real zero) only with CountIncludePad.
/// </summary>
public static class PoolKernels
{
    public static void Register(List<KernelEntry> list)
    {
        foreach (var type in new[] { DataType.Float32, DataType.Int8 })
        {
            string suffix = Suffix(type);
            list.Add(new KernelEntry($"MaxPool2d{suffix}_Reference", OpType.MaxPool, type, s => new MaxPoolKernel(s, type)));
            list.Add(new KernelEntry($"AveragePool2d{suffix}_Reference", OpType.AveragePool, type, s => new AveragePoolKernel(s, type)));
            list.Add(new KernelEntry($"GlobalMaxPool{suffix}_Reference", OpType.GlobalMaxPool, type, s => new GlobalPoolKernel(s, type, average: false)));
            list.Add(new KernelEntry($"GlobalAveragePool{suffix}_Reference", OpType.GlobalAveragePool, type, s => new GlobalPoolKernel(s, type, average: true)));
        }
    }

    private static string Suffix(DataType type) => type == DataType.Float32 ? "Float32" : "Int8";

    /// <summary>Integer mean: rounds half away from zero (the rule every int8 average kernel must follow).</summary>
    internal static int RoundedDivide(int sum, int count) => (sum > 0 ? sum + count / 2 : sum - count / 2) / count;

    /// <summary>Common checks of a windowed pool: one input and output of the kernel's type, same quantization for int8.</summary>
    internal static Window2d PreparePool(KernelSetup s, DataType type, out int zeroPoint, out int min, out int max)
    {
        s.ExpectCounts(1, 1, 1);
        var x = s.Input(0);
        var y = s.Output(0);
        s.ExpectType(x, type);
        s.ExpectType(y, type);
        if (x.Rank != 3 && x.Rank != 4) throw s.Fail($"input '{x.Name}' must be NCW or NCHW, has shape [{ShapeUtil.Format(x.Shape)}]");
        var kernel = s.RequireInts(AttributeKey.KernelShape, x.Rank - 2);
        (zeroPoint, min, max) = PoolQuantization(s, type, x, y);
        return Window2d.Create(s, x, y, kernel, x.Shape[1], allowCeilMode: true, requireNonEmptyWindows: true);
    }

    /// <summary>Checks of a global pool ([N, C, ...] -> [N, C, 1, ...]); returns the plane count and size and the int8 clamp.</summary>
    internal static (int Planes, int PlaneSize) PrepareGlobalPool(KernelSetup s, DataType type, out int min, out int max)
    {
        s.ExpectCounts(1, 1, 1);
        var x = s.Input(0);
        var y = s.Output(0);
        s.ExpectType(x, type);
        s.ExpectType(y, type);
        if (x.Rank < 3) throw s.Fail($"input '{x.Name}' must have rank 3 or more ([N, C, spatial...]), has shape [{ShapeUtil.Format(x.Shape)}]");
        var expected = new int[x.Rank];
        expected[0] = x.Shape[0];
        expected[1] = x.Shape[1];
        for (int d = 2; d < x.Rank; d++) expected[d] = 1;
        if (!ShapeUtil.SameShape(y.Shape, expected))
            throw s.Fail($"output '{y.Name}' has shape [{ShapeUtil.Format(y.Shape)}], expected [{ShapeUtil.Format(expected)}]");
        int planes = x.Shape[0] * x.Shape[1];
        int planeSize = ShapeUtil.ElementCount(x.Shape.AsSpan(2));
        if (planeSize == 0 && planes > 0) throw s.Fail($"input '{x.Name}' has no spatial elements to pool");
        (_, min, max) = PoolQuantization(s, type, x, y);
        return (planes, planeSize);
    }

    /// <summary>For int8: checks input and output share scale and zero point; reads the output clamp.</summary>
    private static (int ZeroPoint, int Min, int Max) PoolQuantization(KernelSetup s, DataType type, TensorInfo x, TensorInfo y)
    {
        if (type != DataType.Int8) return (0, sbyte.MinValue, sbyte.MaxValue);
        int zx = ConvKernels.ReadActivationZeroPoint(s, x);
        int zy = ConvKernels.ReadActivationZeroPoint(s, y);
        float sx = s.Quant(x).Scale, sy = s.Quant(y).Scale;
        if (zx != zy || sx != sy)
            throw s.Fail($"int8 pool needs the same quantization in and out: input '{x.Name}' ({sx}, {zx}), output '{y.Name}' ({sy}, {zy})");
        var (min, max) = ConvKernels.ReadQuantizedClamp(s);
        return (zx, min, max);
    }

    private sealed class MaxPoolKernel : OpKernel
    {
        private readonly int _x, _y;
        private readonly bool _int8;
        private readonly Window2d _g;
        private readonly int _min, _max;
        private readonly string _name;

        public MaxPoolKernel(KernelSetup s, DataType type)
        {
            _g = PreparePool(s, type, out _, out _min, out _max);
            _int8 = type == DataType.Int8;
            _x = s.InputId(0);
            _y = s.OutputId(0);
            _name = $"MaxPool2d{Suffix(type)}_Reference";
        }

        public override string Name => _name;

        public override void Run(TensorMemory memory)
        {
            if (_int8) RunInt8(memory.Read<sbyte>(_x), memory.Write<sbyte>(_y));
            else RunFloat(memory.Read<float>(_x), memory.Write<float>(_y));
        }

        private void RunFloat(ReadOnlySpan<float> x, Span<float> y)
        {
            var g = _g;
            int o = 0;
            for (int plane = 0; plane < g.N * g.C; plane++)
            {
                int xPlane = plane * g.H * g.W;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    int ih0 = oh * g.StrideH - g.PadTop;
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        int iw0 = ow * g.StrideW - g.PadLeft;
                        float best = float.NegativeInfinity;
                        for (int kh = g.RowTapBegin[oh]; kh < g.RowTapEnd[oh]; kh++)
                        {
                            int xRow = xPlane + (ih0 + kh * g.DilationH) * g.W + iw0;
                            for (int kw = g.ColTapBegin[ow]; kw < g.ColTapEnd[ow]; kw++)
                            {
                                float v = x[xRow + kw * g.DilationW];
                                if (v > best) best = v;
                            }
                        }
                        y[o++] = best;
                    }
                }
            }
        }

        private void RunInt8(ReadOnlySpan<sbyte> x, Span<sbyte> y)
        {
            var g = _g;
            int o = 0;
            for (int plane = 0; plane < g.N * g.C; plane++)
            {
                int xPlane = plane * g.H * g.W;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    int ih0 = oh * g.StrideH - g.PadTop;
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        int iw0 = ow * g.StrideW - g.PadLeft;
                        int best = sbyte.MinValue;
                        for (int kh = g.RowTapBegin[oh]; kh < g.RowTapEnd[oh]; kh++)
                        {
                            int xRow = xPlane + (ih0 + kh * g.DilationH) * g.W + iw0;
                            for (int kw = g.ColTapBegin[ow]; kw < g.ColTapEnd[ow]; kw++)
                            {
                                int v = x[xRow + kw * g.DilationW];
                                if (v > best) best = v;
                            }
                        }
                        y[o++] = (sbyte)Math.Clamp(best, _min, _max);
                    }
                }
            }
        }
    }

    private sealed class AveragePoolKernel : OpKernel
    {
        private readonly int _x, _y;
        private readonly bool _int8, _countIncludePad;
        private readonly Window2d _g;
        private readonly int _zeroPoint, _min, _max;
        private readonly string _name;

        public AveragePoolKernel(KernelSetup s, DataType type)
        {
            var dilations = s.Attributes.GetInts(AttributeKey.Dilations);
            if (dilations != null)
                foreach (int d in dilations)
                    if (d != 1) throw s.Fail($"dilations [{ShapeUtil.Format(dilations)}] are not supported for AveragePool (must be 1)");
            int includePad = s.Attributes.GetInt(AttributeKey.CountIncludePad, 0);
            if (includePad is not (0 or 1)) throw s.Fail($"CountIncludePad must be 0 or 1, is {includePad}");
            _countIncludePad = includePad == 1;
            _g = PreparePool(s, type, out _zeroPoint, out _min, out _max);
            _int8 = type == DataType.Int8;
            _x = s.InputId(0);
            _y = s.OutputId(0);
            _name = $"AveragePool2d{Suffix(type)}_Reference";
        }

        public override string Name => _name;

        public override void Run(TensorMemory memory)
        {
            if (_int8) RunInt8(memory.Read<sbyte>(_x), memory.Write<sbyte>(_y));
            else RunFloat(memory.Read<float>(_x), memory.Write<float>(_y));
        }

        private void RunFloat(ReadOnlySpan<float> x, Span<float> y)
        {
            var g = _g;
            int o = 0;
            for (int plane = 0; plane < g.N * g.C; plane++)
            {
                int xPlane = plane * g.H * g.W;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    int ih0 = oh * g.StrideH - g.PadTop, khBegin = g.RowTapBegin[oh], khEnd = g.RowTapEnd[oh];
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        int iw0 = ow * g.StrideW - g.PadLeft, kwBegin = g.ColTapBegin[ow], kwEnd = g.ColTapEnd[ow];
                        float sum = 0f;
                        for (int kh = khBegin; kh < khEnd; kh++)
                        {
                            int xRow = xPlane + (ih0 + kh) * g.W + iw0;
                            for (int kw = kwBegin; kw < kwEnd; kw++) sum += x[xRow + kw];
                        }
                        int count = _countIncludePad
                            ? g.RowPaddedCount[oh] * g.ColPaddedCount[ow]
                            : (khEnd - khBegin) * (kwEnd - kwBegin);
                        y[o++] = sum / count;
                    }
                }
            }
        }

        private void RunInt8(ReadOnlySpan<sbyte> x, Span<sbyte> y)
        {
            var g = _g;
            int o = 0;
            for (int plane = 0; plane < g.N * g.C; plane++)
            {
                int xPlane = plane * g.H * g.W;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    int ih0 = oh * g.StrideH - g.PadTop, khBegin = g.RowTapBegin[oh], khEnd = g.RowTapEnd[oh];
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        int iw0 = ow * g.StrideW - g.PadLeft, kwBegin = g.ColTapBegin[ow], kwEnd = g.ColTapEnd[ow];
                        int sum = 0;
                        for (int kh = khBegin; kh < khEnd; kh++)
                        {
                            int xRow = xPlane + (ih0 + kh) * g.W + iw0;
                            for (int kw = kwBegin; kw < kwEnd; kw++) sum += x[xRow + kw];
                        }
                        int count = (khEnd - khBegin) * (kwEnd - kwBegin);
                        if (_countIncludePad)
                        {
                            // Counted padding is real zero, i.e. the zero point.
                            int counted = g.RowPaddedCount[oh] * g.ColPaddedCount[ow];
                            sum += _zeroPoint * (counted - count);
                            count = counted;
                        }
                        y[o++] = (sbyte)Math.Clamp(RoundedDivide(sum, count), _min, _max);
                    }
                }
            }
        }
    }

    /// <summary>Max or mean over all spatial positions of each (n, c) plane: [N, C, ...] -> [N, C, 1, ...].</summary>
    private sealed class GlobalPoolKernel : OpKernel
    {
        private readonly int _x, _y;
        private readonly bool _int8, _average;
        private readonly int _planes, _planeSize;
        private readonly int _min, _max;
        private readonly string _name;

        public GlobalPoolKernel(KernelSetup s, DataType type, bool average)
        {
            (_planes, _planeSize) = PrepareGlobalPool(s, type, out _min, out _max);
            _int8 = type == DataType.Int8;
            _average = average;
            _x = s.InputId(0);
            _y = s.OutputId(0);
            _name = $"Global{(average ? "AveragePool" : "MaxPool")}{Suffix(type)}_Reference";
        }

        public override string Name => _name;

        public override void Run(TensorMemory memory)
        {
            if (_int8) RunInt8(memory.Read<sbyte>(_x), memory.Write<sbyte>(_y));
            else RunFloat(memory.Read<float>(_x), memory.Write<float>(_y));
        }

        private void RunFloat(ReadOnlySpan<float> x, Span<float> y)
        {
            for (int p = 0; p < _planes; p++)
            {
                var plane = x.Slice(p * _planeSize, _planeSize);
                if (_average)
                {
                    float sum = 0f;
                    for (int i = 0; i < plane.Length; i++) sum += plane[i];
                    y[p] = sum / _planeSize;
                }
                else
                {
                    float best = float.NegativeInfinity;
                    for (int i = 0; i < plane.Length; i++) if (plane[i] > best) best = plane[i];
                    y[p] = best;
                }
            }
        }

        private void RunInt8(ReadOnlySpan<sbyte> x, Span<sbyte> y)
        {
            for (int p = 0; p < _planes; p++)
            {
                var plane = x.Slice(p * _planeSize, _planeSize);
                int result;
                if (_average)
                {
                    int sum = 0;
                    for (int i = 0; i < plane.Length; i++) sum += plane[i];
                    result = RoundedDivide(sum, _planeSize);
                }
                else
                {
                    result = sbyte.MinValue;
                    for (int i = 0; i < plane.Length; i++) if (plane[i] > result) result = plane[i];
                }
                y[p] = (sbyte)Math.Clamp(result, _min, _max);
            }
        }
    }
}
