using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;
using static EdgeNets.Tests.Kernels.WindowedOpHarness;

namespace EdgeNets.Tests.Kernels;

/// <summary>One Gemm configuration: A has shape [..., K]; W is [N, K].</summary>
public sealed record GemmCase(string Label, int[] AShape, int N, bool Bias, int Seed)
{
    public int K => AShape[^1];
    public int Rows => AShape[..^1].Aggregate(1, (a, b) => a * b);
    public int[] OutputShape => Concat(AShape[..^1], [N]);

    public override string ToString() => Label;
}

public class GemmKernelTests
{
    public static readonly GemmCase[] Cases =
    [
        new("rank1_k13_n7", [13], 7, true, 41),
        new("rank2_3x17_n5", [3, 17], 5, true, 42),
        new("rank3_2x3x9_n11_no_bias", [2, 3, 9], 11, false, 43),
        new("rank5_1x1x2x4x6_n3", [1, 1, 2, 4, 6], 3, true, 44),
        new("rank2_1x1_n1", [1, 1], 1, true, 45),
        new("rank2_4x64_n10", [4, 64], 10, true, 46),
    ];

    public static IEnumerable<TestCaseData> FloatCases() =>
        from c in Cases
        from clamp in new[] { false, true }
        select new TestCaseData(c, clamp).SetArgDisplayNames(c.Label, clamp ? "clamp" : "no_clamp");

    public static IEnumerable<TestCaseData> Int8Cases()
    {
        int[] inputZeroPoints = [-128, 127, 0, -3];
        var modes = Enum.GetValues<ConvOutputMode>();
        for (int i = 0; i < Cases.Length; i++)
            for (int m = 0; m < modes.Length; m++)
            {
                int zx = inputZeroPoints[(i + m) % inputZeroPoints.Length];
                yield return new TestCaseData(Cases[i], zx, modes[m]).SetArgDisplayNames(Cases[i].Label, $"zx{zx}", modes[m].ToString());
            }
    }

    [TestCaseSource(nameof(FloatCases))]
    public void Float32MatchesDefinition(GemmCase c, bool clamp)
    {
        const float min = -0.3f, max = 0.4f;
        var a = TestData.Floats(c.Seed, c.Rows * c.K);
        var w = TestData.Floats(c.Seed + 1, c.N * c.K);
        var b = c.Bias ? TestData.Floats(c.Seed + 2, c.N) : null;

        var g = new TestGraph();
        int ai = g.Input("a", DataType.Float32, c.AShape);
        int wi = g.Constant("w", DataType.Float32, [c.N, c.K], w);
        int bi = b != null ? g.Constant("b", DataType.Float32, [c.N], b) : -1;
        int yi = g.Output("y", DataType.Float32, c.OutputShape);
        var attributes = new OpAttributes();
        if (clamp) attributes.Set(AttributeKey.ActivationMin, min).Set(AttributeKey.ActivationMax, max);
        g.Op(OpType.Gemm, [ai, wi, bi], [yi], attributes);

        var actual = RunFloat(g, a, "GemmFloat32_Reference");
        var expected = Oracle(c, a.Select(v => (double)v).ToArray(), w.Select(v => (double)v).ToArray(), b?.Select(v => (double)v).ToArray());
        if (clamp) expected = expected.Select(v => Math.Clamp(v, min, max)).ToArray();
        AssertClose(actual, expected, 1e-5);
    }

    [TestCaseSource(nameof(Int8Cases))]
    public void Int8MatchesContractAndFloatWithinRounding(GemmCase c, int zx, ConvOutputMode mode)
    {
        const float sx = 0.015f;
        var qa = Int8WithExtremes(c.Seed, c.Rows * c.K);
        var (qw, sw) = QuantizeWeightsPerChannel(TestData.Floats(c.Seed + 1, c.N * c.K), c.N);
        var qb = c.Bias ? QuantizeBias(TestData.Floats(c.Seed + 2, c.N, -0.5f, 0.5f), sx, sw) : null;

        var aReal = Dequantize(qa, sx, zx);
        var wReal = qw.Select((q, i) => (double)sw[i / c.K] * q).ToArray();
        var bReal = qb?.Select((q, n) => (double)sx * sw[n] * q).ToArray();
        var yReal = Oracle(c, aReal, wReal, bReal);
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
        int ai = g.Input("a", DataType.Int8, c.AShape, QuantizationInfo.PerTensor(sx, zx));
        int wi = g.Constant("w", DataType.Int8, [c.N, c.K], qw, new QuantizationInfo(sw, 0, axis: 0));
        int bi = qb != null ? g.Constant("b", DataType.Int32, [c.N], qb, new QuantizationInfo(sw.Select(s => sx * s).ToArray(), 0, axis: 0)) : -1;
        int yi = g.Output("y", DataType.Int8, c.OutputShape, QuantizationInfo.PerTensor(sy, zy));
        var attributes = new OpAttributes().Set(AttributeKey.OutputMultiplier, multipliers).Set(AttributeKey.OutputShift, shifts);
        if (relu) attributes.Set(AttributeKey.QuantizedMin, qmin).Set(AttributeKey.QuantizedMax, qmax);
        g.Op(OpType.Gemm, [ai, wi, bi], [yi], attributes);

        var actual = RunInt8(g, qa, "GemmInt8_Reference");

        // The contract: acc = B[n] + Σ (a - za)·w[n, k]; y = clamp(MBQM(acc) + zy, QMin, QMax).
        var acc = Oracle(c, qa.Select(q => (double)(q - zx)).ToArray(), qw.Select(q => (double)q).ToArray(), qb?.Select(q => (double)q).ToArray());
        var expectedQ = acc.Select((v, i) => FixedPoint.Requantize(checked((int)v), multipliers[i % c.N], shifts[i % c.N], zy, qmin, qmax)).ToArray();
        Assert.That(actual, Is.EqualTo(expectedQ).AsCollection);

        AssertWithinSteps(actual, yReal, sy, zy, qmin, qmax, i => RequantizationErrorSteps(shifts[i % c.N]));
    }

    [Test]
    public void RejectsInputWhoseLastDimensionIsNotK()
    {
        var g = new TestGraph();
        int a = g.Input("a", DataType.Float32, [2, 5]);
        int w = g.Constant("w", DataType.Float32, [3, 4], new float[12]);
        int y = g.Output("y", DataType.Float32, [2, 3]);
        g.Op(OpType.Gemm, [a, w], [y], null, "bad_gemm");
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("Gemm 'bad_gemm'").And.Contain("expects 4"));
    }

    [Test]
    public void RejectsWrongOutputShape()
    {
        var g = new TestGraph();
        int a = g.Input("a", DataType.Float32, [2, 3, 4]);
        int w = g.Constant("w", DataType.Float32, [5, 4], new float[20]);
        int y = g.Output("y", DataType.Float32, [6, 5]);
        g.Op(OpType.Gemm, [a, w], [y], null, "bad_gemm");
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("Gemm 'bad_gemm'").And.Contain("[2,3,5]"));
    }

    [Test]
    public void RejectsPerChannelMultipliersOfWrongCount()
    {
        var g = new TestGraph();
        int a = g.Input("a", DataType.Int8, [1, 4], QuantizationInfo.PerTensor(0.1f, 0));
        int w = g.Constant("w", DataType.Int8, [3, 4], new sbyte[12], new QuantizationInfo([0.1f, 0.1f, 0.1f], 0, 0));
        int y = g.Output("y", DataType.Int8, [1, 3], QuantizationInfo.PerTensor(0.1f, 0));
        var attributes = new OpAttributes().Set(AttributeKey.OutputMultiplier, 1 << 30, 1 << 30).Set(AttributeKey.OutputShift, 0, 0);
        g.Op(OpType.Gemm, [a, w], [y], attributes, "bad_gemm");
        var e = Assert.Throws<ModelFormatException>(() => g.Build())!;
        Assert.That(e.Message, Does.Contain("Gemm 'bad_gemm'").And.Contain("OutputMultiplier"));
    }

    /// <summary>Y[r, n] = B[n] + Σ_k A[r, k] · W[n, k] over the rows r of A's flattened leading dimensions.</summary>
    private static double[] Oracle(GemmCase c, double[] a, double[] w, double[]? b)
    {
        var y = new double[c.Rows * c.N];
        for (int r = 0; r < c.Rows; r++)
            for (int n = 0; n < c.N; n++)
            {
                double sum = b != null ? b[n] : 0;
                for (int k = 0; k < c.K; k++) sum += a[r * c.K + k] * w[n * c.K + k];
                y[r * c.N + n] = sum;
            }
        return y;
    }
}
