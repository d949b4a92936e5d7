using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;
using static EdgeNets.Tests.Kernels.WindowedOpHarness;

namespace EdgeNets.Tests.Kernels;

/// <summary>One Conv configuration: spatial lists have one entry for 1-D, two for 2-D; pads are ONNX-ordered.</summary>
public sealed record ConvCase(string Label, int N, int C, int[] Input, int M, int Group, int[] Kernel, int[] Strides, int[] Pads,
    int[] Dilations, bool Bias, int Seed)
{
    public int Spatial => Input.Length;
    public int[] InputShape => Concat([N, C], Input);
    public int[] WeightShape => Concat([M, C / Group], Kernel);

    /// <summary>ONNX Conv output size per spatial axis: floor((in + pads - dilated kernel) / stride) + 1.</summary>
    public int[] OutputSpatial => Enumerable.Range(0, Spatial)
        .Select(a => (Input[a] + Pads[a] + Pads[Spatial + a] - ((Kernel[a] - 1) * Dilations[a] + 1)) / Strides[a] + 1).ToArray();

    public int[] OutputShape => Concat([N, M], OutputSpatial);

    public override string ToString() => Label;
}

public enum ConvOutputMode
{
    /// <summary>Output range calibrated on the float result.</summary>
    Full,
    /// <summary>Output range narrower than the result, so the extremes saturate.</summary>
    Saturating,
    /// <summary>Relu fused as QuantizedMin = output zero point, range calibrated before the Relu.</summary>
    FusedRelu,
    /// <summary>Relu fused, range calibrated after it: output zero point -128.</summary>
    ReluCalibrated,
}

public class ConvKernelTests
{
    public static readonly ConvCase[] Cases =
    [
        new("1d_k3_pad1", 1, 3, [11], 4, 1, [3], [1], [1, 1], [1], true, 11),
        new("1d_stride2_dilation2_asymmetric_pads", 2, 5, [17], 3, 1, [3], [2], [2, 1], [2], false, 12),
        new("1d_depthwise_k5", 1, 6, [9], 6, 6, [5], [1], [2, 2], [1], true, 13),
        new("2d_3x3_pad1", 1, 3, [7, 9], 5, 1, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], true, 21),
        new("2d_stride2_asymmetric_pads", 2, 4, [9, 8], 3, 1, [3, 2], [2, 2], [0, 1, 2, 0], [1, 1], true, 22),
        new("2d_dilation2_mixed_strides", 1, 3, [11, 10], 4, 1, [3, 3], [1, 2], [2, 1, 2, 3], [2, 2], false, 23),
        new("2d_group2", 1, 6, [7, 7], 4, 2, [3, 3], [1, 1], [1, 0, 1, 0], [1, 1], true, 24),
        new("2d_depthwise_multiplier2", 1, 5, [8, 7], 10, 5, [3, 3], [2, 1], [1, 1, 1, 1], [1, 1], true, 25),
        new("2d_1x1_odd_channels", 1, 7, [5, 3], 9, 1, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], true, 26),
        new("2d_pads_wider_than_kernel", 1, 2, [4, 5], 3, 1, [2, 2], [1, 1], [3, 3, 2, 3], [1, 1], true, 27),
        new("2d_group3_stride3_dilation", 2, 9, [13, 11], 6, 3, [2, 3], [3, 2], [1, 2, 0, 1], [2, 1], true, 28),
    ];

    public static IEnumerable<TestCaseData> FloatCases()
    {
        foreach (var c in Cases)
        {
            yield return new TestCaseData(c, false).SetArgDisplayNames(c.Label);
            yield return new TestCaseData(c, true).SetArgDisplayNames(c.Label + "_clamp");
        }
    }

    public static IEnumerable<TestCaseData> Int8Cases()
    {
        int[] inputZeroPoints = [-128, 127, 0, 37];
        var modes = Enum.GetValues<ConvOutputMode>();
        for (int i = 0; i < Cases.Length; i++)
            for (int m = 0; m < modes.Length; m++)
            {
                int zx = inputZeroPoints[(i + m) % inputZeroPoints.Length];
                yield return new TestCaseData(Cases[i], zx, modes[m]).SetArgDisplayNames(Cases[i].Label, $"zx{zx}", modes[m].ToString());
            }
    }

    [TestCaseSource(nameof(FloatCases))]
    public void Float32MatchesOnnxDefinition(ConvCase c, bool clamp)
    {
        var x = TestData.Floats(c.Seed, c.InputShape.Aggregate(1, (a, b) => a * b));
        var w = TestData.Floats(c.Seed + 1, c.WeightShape.Aggregate(1, (a, b) => a * b));
        var b = c.Bias ? TestData.Floats(c.Seed + 2, c.M) : null;
        const float min = -0.25f, max = 0.5f;

        var g = new TestGraph();
        int xi = g.Input("x", DataType.Float32, c.InputShape);
        int wi = g.Constant("w", DataType.Float32, c.WeightShape, w);
        int bi = b != null ? g.Constant("b", DataType.Float32, [c.M], b) : -1;
        int yi = g.Output("y", DataType.Float32, c.OutputShape);
        var attributes = ConvAttributes(c);
        if (clamp) attributes.Set(AttributeKey.ActivationMin, min).Set(AttributeKey.ActivationMax, max);
        g.Op(OpType.Conv, [xi, wi, bi], [yi], attributes);

        var actual = RunFloat(g, x, "Conv2dFloat32_Reference");

        var expected = Oracle(c, x.Select(v => (double)v).ToArray(), w.Select(v => (double)v).ToArray(), b?.Select(v => (double)v).ToArray());
        if (clamp) expected = expected.Select(v => Math.Clamp(v, min, max)).ToArray();
        AssertClose(actual, expected, 1e-5);
    }

    [TestCaseSource(nameof(Int8Cases))]
    public void Int8MatchesContractAndFloatWithinRounding(ConvCase c, int zx, ConvOutputMode mode)
    {
        const float sx = 0.02f;
        var qx = Int8WithExtremes(c.Seed, c.InputShape.Aggregate(1, (a, b) => a * b));
        var wFloat = TestData.Floats(c.Seed + 1, c.WeightShape.Aggregate(1, (a, b) => a * b));
        var (qw, sw) = QuantizeWeightsPerChannel(wFloat, c.M);
        int wPerChannel = qw.Length / c.M;
        var qb = c.Bias ? QuantizeBias(TestData.Floats(c.Seed + 2, c.M, -0.5f, 0.5f), sx, sw) : null;

        // Float math on the dequantized inputs.
        var xReal = Dequantize(qx, sx, zx);
        var wReal = qw.Select((q, i) => (double)sw[i / wPerChannel] * q).ToArray();
        var bReal = qb?.Select((q, m) => (double)sx * sw[m] * q).ToArray();
        var yReal = Oracle(c, xReal, wReal, bReal);
        bool relu = mode is ConvOutputMode.FusedRelu or ConvOutputMode.ReluCalibrated;
        var (lo, hi) = Range(yReal);
        var (sy, zy) = mode switch
        {
            ConvOutputMode.Saturating => ChooseQuantization(0.6 * lo, 0.6 * hi),
            ConvOutputMode.ReluCalibrated => ChooseQuantization(0, hi),
            _ => ChooseQuantization(lo, hi),
        };
        if (relu) yReal = yReal.Select(v => Math.Max(v, 0)).ToArray();
        int qmin = relu ? zy : -128, qmax = 127;
        var (multipliers, shifts) = OutputMultipliers(sx, sw, sy);

        var g = new TestGraph();
        int xi = g.Input("x", DataType.Int8, c.InputShape, QuantizationInfo.PerTensor(sx, zx));
        int wi = g.Constant("w", DataType.Int8, c.WeightShape, qw, new QuantizationInfo(sw, 0, axis: 0));
        int bi = qb != null ? g.Constant("b", DataType.Int32, [c.M], qb, new QuantizationInfo(sw.Select(s => sx * s).ToArray(), 0, axis: 0)) : -1;
        int yi = g.Output("y", DataType.Int8, c.OutputShape, QuantizationInfo.PerTensor(sy, zy));
        var attributes = ConvAttributes(c)
            .Set(AttributeKey.OutputMultiplier, multipliers)
            .Set(AttributeKey.OutputShift, shifts);
        if (relu) attributes.Set(AttributeKey.QuantizedMin, qmin).Set(AttributeKey.QuantizedMax, qmax);
        g.Op(OpType.Conv, [xi, wi, bi], [yi], attributes);

        var actual = RunInt8(g, qx, "Conv2dInt8_Reference");

        // The contract, literally: acc = B[m] + Σ (x - zx)·w over taps inside the input, then MBQM, + zy, clamp.
        var acc = Oracle(c, qx.Select(q => (double)(q - zx)).ToArray(), qw.Select(q => (double)q).ToArray(), qb?.Select(q => (double)q).ToArray());
        int plane = c.OutputSpatial.Aggregate(1, (a, b) => a * b);
        var expectedQ = acc.Select((a, i) =>
        {
            int m = i / plane % c.M;
            return FixedPoint.Requantize(checked((int)a), multipliers[m], shifts[m], zy, qmin, qmax);
        }).ToArray();
        Assert.That(actual, Is.EqualTo(expectedQ).AsCollection);

        AssertWithinSteps(actual, yReal, sy, zy, qmin, qmax, i => RequantizationErrorSteps(shifts[i / plane % c.M]));
        if (mode == ConvOutputMode.Saturating)
            Assert.That(actual.Count(q => q == 127 || q == -128), Is.GreaterThan(0), "the narrow range should saturate some outputs");
    }

    [Test]
    public void RejectsWeightChannelsThatDoNotMatchInputChannelsPerGroup()
    {
        var g = BadConv([1, 4, 5, 5], [3, 3, 3, 3], [1, 3, 3, 3], group: 1);
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("Conv 'bad_conv'").And.Contain("input channels"));
    }

    [Test]
    public void RejectsWeightChannelsOfTheUngroupedConvInAGroupedConv()
    {
        var g = BadConv([1, 4, 5, 5], [4, 4, 3, 3], [1, 4, 3, 3], group: 2);
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("Conv 'bad_conv'").And.Contain("group 2"));
    }

    [Test]
    public void RejectsGroupThatDoesNotDivideChannels()
    {
        var g = BadConv([1, 6, 5, 5], [4, 2, 3, 3], [1, 4, 3, 3], group: 3);
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("Conv 'bad_conv'").And.Contain("group 3"));
    }

    [Test]
    public void RejectsWrongOutputShape()
    {
        var g = BadConv([1, 3, 5, 5], [4, 3, 3, 3], [1, 4, 5, 5], group: 1);
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("Conv 'bad_conv'").And.Contain("[1,4,3,3]"));
    }

    [Test]
    public void RejectsWeightRankThatDiffersFromInput()
    {
        var g = BadConv([1, 3, 9], [4, 3, 3, 3], [1, 4, 7], group: 1);
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("Conv 'bad_conv'").And.Contain("rank 3"));
    }

    [Test]
    public void RejectsBiasOfWrongLength()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, [1, 3, 5, 5]);
        int w = g.Constant("w", DataType.Float32, [4, 3, 3, 3], new float[4 * 27]);
        int b = g.Constant("b", DataType.Float32, [3], new float[3]);
        int y = g.Output("y", DataType.Float32, [1, 4, 3, 3]);
        g.Op(OpType.Conv, [x, w, b], [y], new OpAttributes(), "bad_conv");
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("Conv 'bad_conv'").And.Contain("bias"));
    }

    [Test]
    public void RejectsInt8ConvWithoutRequantization()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Int8, [1, 2, 4, 4], QuantizationInfo.PerTensor(0.1f, 0));
        int w = g.Constant("w", DataType.Int8, [2, 2, 1, 1], new sbyte[4], new QuantizationInfo([0.1f, 0.1f], 0, 0));
        int y = g.Output("y", DataType.Int8, [1, 2, 4, 4], QuantizationInfo.PerTensor(0.1f, 0));
        g.Op(OpType.Conv, [x, w], [y], new OpAttributes(), "bad_conv");
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("Conv 'bad_conv'").And.Contain("OutputMultiplier"));
    }

    private static TestGraph BadConv(int[] inputShape, int[] weightShape, int[] outputShape, int group)
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, inputShape);
        int w = g.Constant("w", DataType.Float32, weightShape, new float[weightShape.Aggregate(1, (a, b) => a * b)]);
        int y = g.Output("y", DataType.Float32, outputShape);
        g.Op(OpType.Conv, [x, w], [y], new OpAttributes().Set(AttributeKey.Group, group), "bad_conv");
        return g;
    }

    private static OpAttributes ConvAttributes(ConvCase c) => new OpAttributes()
        .Set(AttributeKey.Strides, c.Strides)
        .Set(AttributeKey.Pads, c.Pads)
        .Set(AttributeKey.Dilations, c.Dilations)
        .Set(AttributeKey.Group, c.Group);

    private static double[] Oracle(ConvCase c, double[] x, double[] w, double[]? b) =>
        c.Spatial == 1 ? Conv1dOracle(c, x, w, b) : Conv2dOracle(c, x, w, b);

    /// <summary>ONNX Conv on NCW, term by term: y[n,m,o] = b[m] + Σ_ci Σ_k x[n, g·C/G + ci, o·s - pad + k·d] · w[m,ci,k].</summary>
    private static double[] Conv1dOracle(ConvCase c, double[] x, double[] w, double[]? b)
    {
        int width = c.Input[0], k = c.Kernel[0], outW = c.OutputSpatial[0];
        int cpg = c.C / c.Group, mpg = c.M / c.Group;
        var y = new double[c.N * c.M * outW];
        for (int n = 0; n < c.N; n++)
            for (int m = 0; m < c.M; m++)
                for (int o = 0; o < outW; o++)
                {
                    int group = m / mpg;
                    double sum = b != null ? b[m] : 0;
                    for (int ci = 0; ci < cpg; ci++)
                        for (int kk = 0; kk < k; kk++)
                        {
                            int i = o * c.Strides[0] - c.Pads[0] + kk * c.Dilations[0];
                            if (i < 0 || i >= width) continue; // zero padding
                            sum += x[(n * c.C + group * cpg + ci) * width + i] * w[(m * cpg + ci) * k + kk];
                        }
                    y[(n * c.M + m) * outW + o] = sum;
                }
        return y;
    }

    /// <summary>ONNX Conv on NCHW, term by term, in double precision.</summary>
    private static double[] Conv2dOracle(ConvCase c, double[] x, double[] w, double[]? b)
    {
        int h = c.Input[0], wd = c.Input[1], kh = c.Kernel[0], kw = c.Kernel[1];
        int outH = c.OutputSpatial[0], outW = c.OutputSpatial[1];
        int cpg = c.C / c.Group, mpg = c.M / c.Group;
        var y = new double[c.N * c.M * outH * outW];
        for (int n = 0; n < c.N; n++)
            for (int m = 0; m < c.M; m++)
                for (int oy = 0; oy < outH; oy++)
                    for (int ox = 0; ox < outW; ox++)
                    {
                        int group = m / mpg;
                        double sum = b != null ? b[m] : 0;
                        for (int ci = 0; ci < cpg; ci++)
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int iy = oy * c.Strides[0] - c.Pads[0] + ky * c.Dilations[0];
                                    int ix = ox * c.Strides[1] - c.Pads[1] + kx * c.Dilations[1];
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue; // zero padding
                                    sum += x[((n * c.C + group * cpg + ci) * h + iy) * wd + ix] * w[((m * cpg + ci) * kh + ky) * kw + kx];
                                }
                        y[((n * c.M + m) * outH + oy) * outW + ox] = sum;
                    }
        return y;
    }
}
