using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>Float activations against double-precision ONNX definitions; int8 LookupTable and its table builder.</summary>
[TestFixture]
public class ActivationKernelTests
{
    private static float[] Inputs(int seed, int count)
    {
        var x = TestData.Floats(seed, count, -8, 8);
        // Saturating and boundary values of every function.
        float[] special = [-50f, 50f, 0f, -3f, 3f, -2.5f, 2.5f, -1e-3f, 1e-3f];
        for (int i = 0; i < special.Length && i < count; i++) x[i * 3 % count] = special[i];
        return x;
    }

    private static void CheckUnary(OpType op, OpAttributes attributes, Func<double, double> f, int[] shape)
    {
        var x = Inputs(17, Oracle.Count(shape));
        var h = new OpHarness();
        int ix = h.Input("x", shape, x);
        h.Output("y", DataType.Float32, shape);
        h.Op(op, [ix], attributes);
        Oracle.AssertClose(h.RunFloat(), x.Select(v => f(v)).ToArray(), $"{op} [{ShapeUtil.Format(shape)}]");
    }

    private static readonly int[][] UnaryShapes = [[2, 3, 5, 7], [33], [1], [0, 4]];

    [Test]
    public void Relu([ValueSource(nameof(UnaryShapes))] int[] shape) =>
        CheckUnary(OpType.Relu, new OpAttributes(), x => Math.Max(x, 0), shape);

    [Test]
    public void LeakyRelu([ValueSource(nameof(UnaryShapes))] int[] shape)
    {
        CheckUnary(OpType.LeakyRelu, new OpAttributes().Set(AttributeKey.Alpha, 0.3f), x => x >= 0 ? x : 0.3f * x, shape);
        CheckUnary(OpType.LeakyRelu, new OpAttributes(), x => x >= 0 ? x : 0.01f * x, shape);
    }

    [Test]
    public void Clip([ValueSource(nameof(UnaryShapes))] int[] shape)
    {
        CheckUnary(OpType.Clip, new OpAttributes().Set(AttributeKey.ActivationMin, 0f).Set(AttributeKey.ActivationMax, 6f), x => Math.Min(Math.Max(x, 0), 6), shape);
        CheckUnary(OpType.Clip, new OpAttributes().Set(AttributeKey.ActivationMin, -1.5f), x => Math.Max(x, -1.5), shape);
        CheckUnary(OpType.Clip, new OpAttributes().Set(AttributeKey.ActivationMax, 2.25f), x => Math.Min(x, 2.25), shape);
        CheckUnary(OpType.Clip, new OpAttributes(), x => x, shape);
    }

    [Test]
    public void Sigmoid([ValueSource(nameof(UnaryShapes))] int[] shape) =>
        CheckUnary(OpType.Sigmoid, new OpAttributes(), x => 1 / (1 + Math.Exp(-x)), shape);

    [Test]
    public void Tanh([ValueSource(nameof(UnaryShapes))] int[] shape) =>
        CheckUnary(OpType.Tanh, new OpAttributes(), Math.Tanh, shape);

    [Test]
    public void HardSigmoid([ValueSource(nameof(UnaryShapes))] int[] shape)
    {
        CheckUnary(OpType.HardSigmoid, new OpAttributes(), x => Math.Max(0, Math.Min(1, 0.2f * x + 0.5)), shape);
        CheckUnary(OpType.HardSigmoid, new OpAttributes().Set(AttributeKey.Alpha, 0.25f).Set(AttributeKey.Beta, 0.375f),
            x => Math.Max(0, Math.Min(1, 0.25 * x + 0.375)), shape);
    }

    [Test]
    public void HardSwish([ValueSource(nameof(UnaryShapes))] int[] shape) =>
        CheckUnary(OpType.HardSwish, new OpAttributes(), x => x * Math.Max(0, Math.Min(1, x / 6 + 0.5)), shape);

    [TestCase(new[] { 2, 3, 4, 5 }, new[] { 3, 1, 1 })]
    [TestCase(new[] { 2, 3, 4, 5 }, new[] { 1 })]
    [TestCase(new[] { 2, 3, 4, 5 }, new[] { 5 })]
    [TestCase(new[] { 2, 3, 4, 5 }, new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 3, 7 }, new[] { 1, 7 })]
    [TestCase(new[] { 1, 6, 9 }, new[] { 6, 1 })]
    public void PReluBroadcastsSlopeToInput(int[] shape, int[] slopeShape)
    {
        var x = Inputs(23, Oracle.Count(shape));
        var slope = TestData.Floats(24, Oracle.Count(slopeShape), -0.5f, 1.5f);
        var h = new OpHarness();
        int ix = h.Input("x", shape, x);
        int islope = h.Constant("slope", slopeShape, slope);
        h.Output("y", DataType.Float32, shape);
        h.Op(OpType.PRelu, [ix, islope]);
        var expected = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double s = slope[Oracle.BroadcastSource(Oracle.Unravel(i, shape), slopeShape)];
            expected[i] = x[i] < 0 ? s * x[i] : x[i];
        }
        Oracle.AssertClose(h.RunFloat(), expected, $"PRelu slope [{ShapeUtil.Format(slopeShape)}]");
    }

    [Test]
    public void PReluWithSlopeThatWouldGrowTheOutputIsRejectedAtLoad()
    {
        var h = new OpHarness();
        int ix = h.Input("x", [3, 1], new float[3]);
        int islope = h.Constant("slope", [3, 4], new float[12]);
        h.Output("y", DataType.Float32, [3, 1]);
        h.Op(OpType.PRelu, [ix, islope], name: "prelu");
        var e = Assert.Throws<ModelFormatException>(() => h.Load());
        Assert.That(e!.Message, Does.Contain("PRelu 'prelu'"));
    }

    // ---- int8 LookupTable ----

    private static sbyte[] EveryCode(int repeat)
    {
        var x = new sbyte[256 * repeat];
        for (int i = 0; i < x.Length; i++) x[i] = (sbyte)(i % 256 - 128);
        return x;
    }

    [Test]
    public void LookupTablePerTensorIndexesByCodePlus128()
    {
        var table = TestData.Int8(50, 256);
        var x = EveryCode(1).Concat(TestData.Int8(51, 37)).ToArray();
        var q = QuantizationInfo.PerTensor(0.1f, 0);
        var h = new OpHarness();
        int ix = h.Input("x", [x.Length], x, q);
        int it = h.Constant("table", [256], table);
        h.Output("y", DataType.Int8, [x.Length], q);
        h.Op(OpType.LookupTable, [ix, it]);
        Assert.That(h.RunInt8(), Is.EqualTo(x.Select(v => table[v + 128]).ToArray()));
    }

    [TestCase(new[] { 2, 3, 4, 5 }, 1)]
    [TestCase(new[] { 2, 3, 4, 5 }, -3)]
    [TestCase(new[] { 7, 5 }, -1)]
    [TestCase(new[] { 4, 2, 1 }, 0)]
    public void LookupTablePerChannelUsesTheChannelsTable(int[] shape, int axis)
    {
        int normalized = axis < 0 ? axis + shape.Length : axis;
        int channels = shape[normalized];
        var table = TestData.Int8(52, channels * 256);
        var x = Oracle.Int8WithExtremes(53, Oracle.Count(shape));
        var q = QuantizationInfo.PerTensor(0.1f, 0);
        var h = new OpHarness();
        int ix = h.Input("x", shape, x, q);
        int it = h.Constant("table", [channels, 256], table);
        h.Output("y", DataType.Int8, shape, q);
        h.Op(OpType.LookupTable, [ix, it], new OpAttributes().Set(AttributeKey.Axis, axis));
        var expected = new sbyte[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int c = Oracle.Unravel(i, shape)[normalized];
            expected[i] = table[c * 256 + x[i] + 128];
        }
        Assert.That(h.RunInt8(), Is.EqualTo(expected));
    }

    [Test]
    public void LookupTableWithWrongChannelCountIsRejectedAtLoad()
    {
        var q = QuantizationInfo.PerTensor(0.1f, 0);
        var h = new OpHarness();
        int ix = h.Input("x", [1, 3, 4], new sbyte[12], q);
        int it = h.Constant("table", [4, 256], new sbyte[1024]);
        h.Output("y", DataType.Int8, [1, 3, 4], q);
        h.Op(OpType.LookupTable, [ix, it], new OpAttributes().Set(AttributeKey.Axis, 1), name: "lut");
        var e = Assert.Throws<ModelFormatException>(() => h.Load());
        Assert.That(e!.Message, Does.Contain("LookupTable 'lut'"));
    }

    private static readonly (string Name, Func<double, double> F, float InScale, int InZp, float OutScale, int OutZp)[] TableCases =
    [
        ("sigmoid", x => 1 / (1 + Math.Exp(-x)), 0.06f, -5, 1f / 256, -128),
        ("tanh", Math.Tanh, 0.02f, 127, 1f / 128, 0),
        ("hardswish", x => x * Math.Max(0, Math.Min(1, x / 6 + 0.5)), 0.05f, -128, 0.04f, -20),
        ("leakyrelu", x => x >= 0 ? x : 0.1 * x, 0.1f, 0, 0.1f, 0),
    ];

    [Test]
    public void BuildUnaryTableThroughLookupTableIsWithinOneStep()
    {
        foreach (var (name, f, inScale, inZp, outScale, outZp) in TableCases)
        {
            var qx = QuantizationInfo.PerTensor(inScale, inZp);
            var qy = QuantizationInfo.PerTensor(outScale, outZp);
            var table = LookupTables.BuildUnary(v => (float)f(v), qx, qy);
            var x = EveryCode(2);
            var h = new OpHarness();
            int ix = h.Input("x", [2, 256], x, qx);
            int it = h.Constant("table", [256], table);
            h.Output("y", DataType.Int8, [2, 256], qy);
            h.Op(OpType.LookupTable, [ix, it]);
            var expected = x.Select(v => f(Oracle.Dequantize(v, qx))).ToArray();
            // A table entry is one rounding of f, so it is within half a step; one step is the contract.
            Oracle.AssertWithinOneStep(h.RunInt8(), expected, qy, name);
            for (int i = 0; i < 256; i++)
            {
                double want = Math.Clamp(f(qx.Scale * (i - 128 - qx.ZeroPoint)), qy.Scale * (-128 - qy.ZeroPoint), qy.Scale * (127 - qy.ZeroPoint));
                Assert.That(Math.Abs(Oracle.Dequantize(table[i], qy) - want), Is.LessThanOrEqualTo(qy.Scale * 0.5001), $"{name} table[{i}]");
            }
        }
    }
}
