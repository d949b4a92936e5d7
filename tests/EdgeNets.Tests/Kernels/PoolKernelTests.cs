using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Support;
using NUnit.Framework;
using static EdgeNets.Tests.Kernels.WindowedOpHarness;

namespace EdgeNets.Tests.Kernels;

/// <summary>One MaxPool/AveragePool configuration: spatial lists have one entry for 1-D, two for 2-D; pads ONNX-ordered.</summary>
public sealed record PoolCase(string Label, int N, int C, int[] Input, int[] Kernel, int[] Strides, int[] Pads, int[] Dilations,
    bool CeilMode, int Seed)
{
    public int Spatial => Input.Length;
    public int[] InputShape => Concat([N, C], Input);
    public bool Dilated => Dilations.Any(d => d != 1);

    /// <summary>
    /// ONNX pool output size: (in + pads - dilated kernel) / stride + 1, rounded down, or up with ceil_mode; a ceil_mode
    /// window that would start inside the end padding is dropped (ONNX Runtime, PyTorch).
    /// </summary>
    public int[] OutputSpatial => Enumerable.Range(0, Spatial).Select(a =>
    {
        double size = (double)(Input[a] + Pads[a] + Pads[Spatial + a] - ((Kernel[a] - 1) * Dilations[a] + 1)) / Strides[a] + 1;
        int output = CeilMode ? (int)Math.Ceiling(size) : (int)Math.Floor(size);
        if (CeilMode && (output - 1) * Strides[a] >= Input[a] + Pads[a]) output--;
        return output;
    }).ToArray();

    public int[] OutputShape => Concat([N, C], OutputSpatial);

    public override string ToString() => Label;
}

public class PoolKernelTests
{
    public static readonly PoolCase[] Cases =
    [
        new("1d_k3_s2_pad1", 2, 3, [11], [3], [2], [1, 1], [1], false, 31),
        new("1d_k2_s2_ceil", 1, 2, [7], [2], [2], [0, 0], [1], true, 32),
        new("2d_2x2_s2_ceil_odd", 1, 3, [7, 9], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], true, 33),
        new("2d_3x3_s2_pad1_ceil_past_end_pad", 1, 2, [8, 8], [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], true, 34),
        new("2d_3x3_s1_asymmetric_pads", 2, 3, [6, 7], [3, 3], [1, 1], [1, 0, 2, 1], [1, 1], false, 35),
        new("2d_3x2_mixed_strides_ceil", 1, 5, [10, 9], [3, 2], [2, 3], [0, 1, 1, 0], [1, 1], true, 36),
        new("2d_dilation2", 1, 2, [9, 10], [3, 3], [1, 2], [2, 1, 2, 1], [2, 2], false, 37),
        new("1d_dilation3_ceil", 1, 3, [13], [2], [2], [1, 1], [3], true, 38),
    ];

    public static IEnumerable<TestCaseData> MaxCases() => Cases.Select(c => new TestCaseData(c).SetArgDisplayNames(c.Label));

    public static IEnumerable<TestCaseData> AverageCases() =>
        from c in Cases where !c.Dilated
        from includePad in new[] { false, true }
        select new TestCaseData(c, includePad).SetArgDisplayNames(c.Label, includePad ? "count_include_pad" : "exclude_pad");

    public static IEnumerable<TestCaseData> MaxInt8Cases()
    {
        int[] zeroPoints = [-128, 127, 5];
        for (int i = 0; i < Cases.Length; i++)
        {
            int zx = zeroPoints[i % zeroPoints.Length];
            yield return new TestCaseData(Cases[i], zx, false).SetArgDisplayNames(Cases[i].Label, $"zx{zx}");
            yield return new TestCaseData(Cases[i], zx, true).SetArgDisplayNames(Cases[i].Label, $"zx{zx}", "relu");
        }
    }

    public static IEnumerable<TestCaseData> AverageInt8Cases()
    {
        int[] zeroPoints = [-128, 127, -7];
        foreach (var c in Cases.Where(c => !c.Dilated))
            foreach (bool includePad in new[] { false, true })
                foreach (int zx in zeroPoints)
                    yield return new TestCaseData(c, includePad, zx)
                        .SetArgDisplayNames(c.Label, includePad ? "count_include_pad" : "exclude_pad", $"zx{zx}");
    }

    [TestCaseSource(nameof(MaxCases))]
    public void MaxPoolFloat32MatchesOnnxDefinition(PoolCase c)
    {
        // All negative, so padding taken as zero would show.
        var x = TestData.Floats(c.Seed, Count(c.InputShape), -3f, -1f);
        var g = PoolGraph(OpType.MaxPool, c, DataType.Float32, null, includePad: false);
        var actual = RunFloat(g, x, "MaxPool2dFloat32_Reference");
        var expected = Oracle(c, x.Select(v => (double)v).ToArray(), average: false, includePad: false, padValue: 0);
        AssertClose(actual, expected, 0);
    }

    [TestCaseSource(nameof(AverageCases))]
    public void AveragePoolFloat32MatchesOnnxDefinition(PoolCase c, bool includePad)
    {
        var x = TestData.Floats(c.Seed, Count(c.InputShape), 0.5f, 2f);
        var g = PoolGraph(OpType.AveragePool, c, DataType.Float32, null, includePad);
        var actual = RunFloat(g, x, "AveragePool2dFloat32_Reference");
        var expected = Oracle(c, x.Select(v => (double)v).ToArray(), average: true, includePad, padValue: 0);
        AssertClose(actual, expected, 1e-6);
    }

    [TestCaseSource(nameof(MaxInt8Cases))]
    public void MaxPoolInt8MatchesContract(PoolCase c, int zx, bool relu)
    {
        const float scale = 0.05f;
        var q = Int8WithExtremes(c.Seed, Count(c.InputShape));
        int qmin = relu ? zx : -128;
        var g = PoolGraph(OpType.MaxPool, c, DataType.Int8, QuantizationInfo.PerTensor(scale, zx), includePad: false);
        if (relu) g.Graph.Ops[0].Attributes.Set(AttributeKey.QuantizedMin, qmin).Set(AttributeKey.QuantizedMax, 127);
        var actual = RunInt8(g, q, "MaxPool2dInt8_Reference");

        var expectedQ = Oracle(c, q.Select(v => (double)v).ToArray(), average: false, includePad: false, padValue: 0)
            .Select(v => (sbyte)Math.Clamp((int)v, qmin, 127)).ToArray();
        Assert.That(actual, Is.EqualTo(expectedQ).AsCollection);

        // The max of the dequantized input (after the fused Relu) is representable: no error at all.
        var real = Oracle(c, Dequantize(q, scale, zx), average: false, includePad: false, padValue: 0);
        if (relu) real = real.Select(v => Math.Max(v, 0)).ToArray();
        AssertWithinSteps(actual, real, scale, zx, qmin, 127, _ => 0);
    }

    [TestCaseSource(nameof(AverageInt8Cases))]
    public void AveragePoolInt8MatchesContractAndFloatWithinHalfStep(PoolCase c, bool includePad, int zx)
    {
        const float scale = 0.05f;
        var q = Int8WithExtremes(c.Seed, Count(c.InputShape));
        var g = PoolGraph(OpType.AveragePool, c, DataType.Int8, QuantizationInfo.PerTensor(scale, zx), includePad);
        var actual = RunInt8(g, q, "AveragePool2dInt8_Reference");

        // The contract: integer sum of q over the valid window plus zx per counted padding element, divided with
        // rounding half away from zero. The oracle sums the same way with the pad value zx.
        var sums = Oracle(c, q.Select(v => (double)v).ToArray(), average: false, includePad, padValue: zx, sum: true);
        var counts = Oracle(c, new double[q.Length], average: false, includePad, padValue: 0, count: true);
        var expectedQ = sums.Select((s, i) =>
        {
            int sum = (int)s, count = (int)counts[i];
            return (sbyte)((sum > 0 ? sum + count / 2 : sum - count / 2) / count);
        }).ToArray();
        Assert.That(actual, Is.EqualTo(expectedQ).AsCollection);

        var real = Oracle(c, Dequantize(q, scale, zx), average: true, includePad, padValue: 0);
        AssertWithinSteps(actual, real, scale, zx, -128, 127, _ => 0.5);
    }

    private static readonly int[][] GlobalPoolShapes = [[2, 3, 7], [1, 4, 5, 6], [1, 2, 3, 2, 5], [3, 1, 1, 1]];

    public static IEnumerable<TestCaseData> GlobalFloatCases() =>
        from shape in GlobalPoolShapes
        from average in new[] { false, true }
        select new TestCaseData(shape, average).SetArgDisplayNames(string.Join('x', shape), average ? "average" : "max");

    public static IEnumerable<TestCaseData> GlobalInt8Cases()
    {
        int[] zeroPoints = [-128, 127, 0, 19];
        for (int i = 0; i < GlobalPoolShapes.Length; i++)
            foreach (bool average in new[] { false, true })
                yield return new TestCaseData(GlobalPoolShapes[i], average, zeroPoints[i])
                    .SetArgDisplayNames(string.Join('x', GlobalPoolShapes[i]), average ? "average" : "max", $"zx{zeroPoints[i]}");
    }

    [TestCaseSource(nameof(GlobalFloatCases))]
    public void GlobalPoolFloat32MatchesDefinition(int[] shape, bool average)
    {
        var x = TestData.Floats(shape.Sum(), Count(shape), -2f, 1f);
        var (g, kernel) = GlobalGraph(shape, average, DataType.Float32, null);
        var actual = RunFloat(g, x, kernel);
        var expected = GlobalOracle(shape, x.Select(v => (double)v).ToArray(), average);
        AssertClose(actual, expected, 1e-6);
    }

    [TestCaseSource(nameof(GlobalInt8Cases))]
    public void GlobalPoolInt8MatchesContractAndFloat(int[] shape, bool average, int zx)
    {
        const float scale = 0.03f;
        var q = Int8WithExtremes(shape.Sum(), Count(shape));
        var (g, kernel) = GlobalGraph(shape, average, DataType.Int8, QuantizationInfo.PerTensor(scale, zx));
        var actual = RunInt8(g, q, kernel);

        int planeSize = Count(shape) / (shape[0] * shape[1]);
        var expectedQ = new sbyte[shape[0] * shape[1]];
        for (int p = 0; p < expectedQ.Length; p++)
        {
            var plane = q.Skip(p * planeSize).Take(planeSize).Select(v => (int)v).ToArray();
            int sum = plane.Sum();
            expectedQ[p] = (sbyte)(average ? (sum > 0 ? sum + planeSize / 2 : sum - planeSize / 2) / planeSize : plane.Max());
        }
        Assert.That(actual, Is.EqualTo(expectedQ).AsCollection);
        AssertWithinSteps(actual, GlobalOracle(shape, Dequantize(q, scale, zx), average), scale, zx, -128, 127, _ => average ? 0.5 : 0);
    }

    [Test]
    public void RejectsWrongOutputShape()
    {
        var c = new PoolCase("bad", 1, 2, [8, 8], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], false, 1);
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, c.InputShape);
        int y = g.Output("y", DataType.Float32, [1, 2, 3, 4]);
        g.Op(OpType.MaxPool, [x], [y], PoolAttributes(c, includePad: false), "bad_pool");
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("MaxPool 'bad_pool'").And.Contain("[1,2,4,4]"));
    }

    [Test]
    public void RejectsWindowsThatSeeOnlyPadding()
    {
        var c = new PoolCase("bad", 1, 1, [4, 4], [2, 2], [1, 1], [3, 0, 0, 0], [1, 1], false, 1);
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, c.InputShape);
        int y = g.Output("y", DataType.Float32, c.OutputShape);
        g.Op(OpType.MaxPool, [x], [y], PoolAttributes(c, includePad: false), "bad_pool");
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("MaxPool 'bad_pool'").And.Contain("no input element"));
    }

    [Test]
    public void RejectsInt8PoolThatChangesQuantization()
    {
        var c = new PoolCase("bad", 1, 2, [6, 6], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], false, 1);
        var g = new TestGraph();
        int x = g.Input("x", DataType.Int8, c.InputShape, QuantizationInfo.PerTensor(0.1f, 3));
        int y = g.Output("y", DataType.Int8, c.OutputShape, QuantizationInfo.PerTensor(0.2f, 3));
        g.Op(OpType.AveragePool, [x], [y], PoolAttributes(c, includePad: false), "bad_pool");
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("AveragePool 'bad_pool'").And.Contain("same quantization"));
    }

    [Test]
    public void RejectsDilatedAveragePool()
    {
        var c = new PoolCase("bad", 1, 2, [9, 9], [2, 2], [1, 1], [0, 0, 0, 0], [2, 2], false, 1);
        var g = PoolGraph(OpType.AveragePool, c, DataType.Float32, null, includePad: false);
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("AveragePool").And.Contain("dilations"));
    }

    [Test]
    public void RejectsGlobalPoolWithSpatialOutput()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, [1, 3, 4, 4]);
        int y = g.Output("y", DataType.Float32, [1, 3, 4, 1]);
        g.Op(OpType.GlobalAveragePool, [x], [y], null, "bad_gap");
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("GlobalAveragePool 'bad_gap'").And.Contain("[1,3,1,1]"));
    }

    private static int Count(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    private static OpAttributes PoolAttributes(PoolCase c, bool includePad) => new OpAttributes()
        .Set(AttributeKey.KernelShape, c.Kernel)
        .Set(AttributeKey.Strides, c.Strides)
        .Set(AttributeKey.Pads, c.Pads)
        .Set(AttributeKey.Dilations, c.Dilations)
        .Set(AttributeKey.CeilMode, c.CeilMode ? 1 : 0)
        .Set(AttributeKey.CountIncludePad, includePad ? 1 : 0);

    private static TestGraph PoolGraph(OpType op, PoolCase c, DataType type, QuantizationInfo? quant, bool includePad)
    {
        var g = new TestGraph();
        int x = g.Input("x", type, c.InputShape, quant);
        int y = g.Output("y", type, c.OutputShape, quant);
        g.Op(op, [x], [y], PoolAttributes(c, includePad));
        return g;
    }

    private static (TestGraph Graph, string Kernel) GlobalGraph(int[] shape, bool average, DataType type, QuantizationInfo? quant)
    {
        var g = new TestGraph();
        int x = g.Input("x", type, shape, quant);
        var outputShape = shape.Select((d, i) => i < 2 ? d : 1).ToArray();
        int y = g.Output("y", type, outputShape, quant);
        g.Op(average ? OpType.GlobalAveragePool : OpType.GlobalMaxPool, [x], [y]);
        string suffix = type == DataType.Float32 ? "Float32" : "Int8";
        return (g, $"Global{(average ? "AveragePool" : "MaxPool")}{suffix}_Reference");
    }

    private static double[] GlobalOracle(int[] shape, double[] x, bool average)
    {
        int planes = shape[0] * shape[1], size = x.Length / planes;
        var y = new double[planes];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Skip(p * size).Take(size);
            y[p] = average ? plane.Average() : plane.Max();
        }
        return y;
    }

    /// <summary>
    /// Pooling written from the ONNX definition: the input is surrounded by the declared pads (holding padValue), each
    /// window takes the positions o·stride + k·dilation of that padded array, and positions past its end (added by
    /// ceil_mode) are dropped. Max and the excluded-pad average use real input positions only; count_include_pad counts
    /// every position inside the padded array. With <paramref name="sum"/> or <paramref name="count"/> it returns the
    /// window sums (padding included as padValue when counted) or the divisors instead.
    /// </summary>
    private static double[] Oracle(PoolCase c, double[] x, bool average, bool includePad, double padValue, bool sum = false, bool count = false)
    {
        // A 1-D pool is given a unit H axis here so one loop nest serves both.
        bool oneD = c.Spatial == 1;
        int h = oneD ? 1 : c.Input[0], w = c.Input[^1];
        int kh = oneD ? 1 : c.Kernel[0], kw = c.Kernel[^1];
        int sh = oneD ? 1 : c.Strides[0], sw = c.Strides[^1];
        int dh = oneD ? 1 : c.Dilations[0], dw = c.Dilations[^1];
        int padTop = oneD ? 0 : c.Pads[0], padLeft = oneD ? c.Pads[0] : c.Pads[1];
        int padBottom = oneD ? 0 : c.Pads[2], padRight = oneD ? c.Pads[1] : c.Pads[3];
        int outH = oneD ? 1 : c.OutputSpatial[0], outW = c.OutputSpatial[^1];
        int paddedH = h + padTop + padBottom, paddedW = w + padLeft + padRight;

        var y = new double[c.N * c.C * outH * outW];
        int o = 0;
        for (int plane = 0; plane < c.N * c.C; plane++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    double total = 0, best = double.NegativeInfinity;
                    int realCount = 0, paddedCount = 0;
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int py = oy * sh + ky * dh, px = ox * sw + kx * dw; // position in the padded array
                            if (py >= paddedH || px >= paddedW) continue;        // beyond the end padding
                            paddedCount++;
                            int iy = py - padTop, ix = px - padLeft;
                            bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                            if (!inside)
                            {
                                if (includePad) total += padValue;
                                continue;
                            }
                            double v = x[(plane * h + iy) * w + ix];
                            realCount++;
                            total += v;
                            best = Math.Max(best, v);
                        }
                    int divisor = includePad ? paddedCount : realCount;
                    y[o++] = count ? divisor : sum ? total : average ? total / divisor : best;
                }
        return y;
    }
}
