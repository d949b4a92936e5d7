using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>Add and Mul reference kernels: broadcasting, fused clamps, every row tail, and int8 against float math.</summary>
[TestFixture]
public class BinaryArithmeticKernelTests
{
    private static readonly object[] BroadcastShapes =
    {
        new object[] { new[] { 2, 3, 4 }, new[] { 3, 1 } },
        new object[] { new[] { 1 }, new[] { 2, 3 } },
        new object[] { new[] { 4, 1, 5 }, new[] { 1, 6, 1 } },
        new object[] { new[] { 3, 5 }, new[] { 3, 5 } },
        new object[] { Array.Empty<int>(), new[] { 3, 5 } },
        new object[] { new[] { 2, 3, 4, 5 }, new[] { 3, 1, 1 } },
        new object[] { new[] { 2, 1, 4, 1 }, new[] { 3, 1, 7 } },
        new object[] { new[] { 5, 1 }, new[] { 1, 7 } },
        new object[] { new[] { 2, 0, 3 }, new[] { 1, 3 } },
    };

    private static double[] FloatOracle(float[] a, int[] shapeA, float[] b, int[] shapeB, int[] shapeY, bool isAdd, double min, double max)
    {
        var y = new double[Oracle.Count(shapeY)];
        for (int i = 0; i < y.Length; i++)
        {
            var index = Oracle.Unravel(i, shapeY);
            double va = a[Oracle.BroadcastSource(index, shapeA)], vb = b[Oracle.BroadcastSource(index, shapeB)];
            y[i] = Math.Clamp(isAdd ? va + vb : va * vb, min, max);
        }
        return y;
    }

    [TestCaseSource(nameof(BroadcastShapes))]
    public void Float32AddAndMulBroadcastInBothDirections(int[] shapeA, int[] shapeB)
    {
        foreach (var op in new[] { OpType.Add, OpType.Mul })
            foreach (bool swap in new[] { false, true })
                foreach (bool constantB in new[] { false, true })
                {
                    var (sa, sb) = swap ? (shapeB, shapeA) : (shapeA, shapeB);
                    var shapeY = ShapeUtil.Broadcast(sa, sb)!;
                    var a = TestData.Floats(11, Oracle.Count(sa), -3, 3);
                    var b = TestData.Floats(12, Oracle.Count(sb), -3, 3);
                    var h = new OpHarness();
                    int ia = h.Input("a", sa, a);
                    int ib = h.Operand("b", sb, b, constantB);
                    h.Output("y", DataType.Float32, shapeY);
                    h.Op(op, [ia, ib]);
                    var expected = FloatOracle(a, sa, b, sb, shapeY, op == OpType.Add, double.NegativeInfinity, double.PositiveInfinity);
                    Oracle.AssertClose(h.RunFloat(), expected, $"{op} [{ShapeUtil.Format(sa)}] [{ShapeUtil.Format(sb)}] constB={constantB}");
                }
    }

    [Test]
    public void Float32AddConstantFirstOperand()
    {
        int[] sa = [3, 1], sb = [2, 3, 4];
        var a = TestData.Floats(3, 3);
        var b = TestData.Floats(4, 24);
        var h = new OpHarness();
        int ia = h.Constant("a", sa, a);
        int ib = h.Input("b", sb, b);
        h.Output("y", DataType.Float32, sb);
        h.Op(OpType.Add, [ia, ib]);
        Oracle.AssertClose(h.RunFloat(), FloatOracle(a, sa, b, sb, sb, true, double.NegativeInfinity, double.PositiveInfinity), "const + input");
    }

    [TestCase(OpType.Add, 0f, 6f)]
    [TestCase(OpType.Mul, -0.5f, float.PositiveInfinity)]
    [TestCase(OpType.Add, float.NegativeInfinity, 0.25f)]
    public void Float32FusedClampBoundsTheResult(OpType op, float min, float max)
    {
        int[] sa = [2, 3, 5], sb = [3, 1];
        var a = TestData.Floats(21, 30, -8, 8);
        var b = TestData.Floats(22, 3, -8, 8);
        var h = new OpHarness();
        int ia = h.Input("a", sa, a);
        int ib = h.Input("b", sb, b);
        h.Output("y", DataType.Float32, sa);
        var attributes = new OpAttributes();
        if (!float.IsNegativeInfinity(min)) attributes.Set(AttributeKey.ActivationMin, min);
        if (!float.IsPositiveInfinity(max)) attributes.Set(AttributeKey.ActivationMax, max);
        h.Op(op, [ia, ib], attributes);
        var expected = FloatOracle(a, sa, b, sb, sa, op == OpType.Add, min, max);
        Oracle.AssertClose(h.RunFloat(), expected, $"{op} clamp [{min}, {max}]");
    }

    [Test]
    public void Float32AddEveryLengthFrom0To33()
    {
        for (int n = 0; n <= 33; n++)
        {
            foreach (var shapeB in new[] { new[] { n }, new[] { 1 } })
            {
                var a = TestData.Floats(100 + n, n, -5, 5);
                var b = TestData.Floats(200 + n, Oracle.Count(shapeB), -5, 5);
                var h = new OpHarness();
                int ia = h.Input("a", [n], a);
                int ib = h.Input("b", shapeB, b);
                h.Output("y", DataType.Float32, [n]);
                h.Op(OpType.Add, [ia, ib]);
                Oracle.AssertClose(h.RunFloat(), FloatOracle(a, [n], b, shapeB, [n], true, double.NegativeInfinity, double.PositiveInfinity), $"n={n} b=[{ShapeUtil.Format(shapeB)}]");
            }
        }
    }

    [Test]
    public void BroadcastIncompatibleAddIsRejectedAtLoad()
    {
        var h = new OpHarness();
        int ia = h.Input("a", [2, 3], new float[6]);
        int ib = h.Input("b", [4], new float[4]);
        h.Output("y", DataType.Float32, [2, 4]);
        h.Op(OpType.Add, [ia, ib], name: "bad_add");
        var e = Assert.Throws<ModelFormatException>(() => h.Load());
        Assert.That(e!.Message, Does.Contain("Add 'bad_add'").And.Contain("broadcast"));
    }

    [Test]
    public void OutputShapeThatIsNotTheBroadcastIsRejectedAtLoad()
    {
        var h = new OpHarness();
        int ia = h.Input("a", [2, 3], new float[6]);
        int ib = h.Input("b", [3], new float[3]);
        h.Output("y", DataType.Float32, [6]);
        h.Op(OpType.Mul, [ia, ib], name: "bad_mul");
        var e = Assert.Throws<ModelFormatException>(() => h.Load());
        Assert.That(e!.Message, Does.Contain("Mul 'bad_mul'"));
    }

    // ---- int8 ----

    /// <summary>Attributes of an int8 Add as the converter computes them (both inputs to a common scale of twice the larger).</summary>
    internal static OpAttributes Int8AddAttributes(QuantizationInfo qa, QuantizationInfo qb, QuantizationInfo qy, int qmin = -128, int qmax = 127)
    {
        const int leftShift = 20;
        double twiceMax = 2.0 * Math.Max(qa.Scale, qb.Scale);
        var (ma, sa) = FixedPoint.QuantizeMultiplier(qa.Scale / twiceMax);
        var (mb, sb) = FixedPoint.QuantizeMultiplier(qb.Scale / twiceMax);
        var (my, sy) = FixedPoint.QuantizeMultiplier(twiceMax / ((1 << leftShift) * (double)qy.Scale));
        return new OpAttributes()
            .Set(AttributeKey.LeftShift, leftShift)
            .Set(AttributeKey.InputMultiplier, ma, mb)
            .Set(AttributeKey.InputShift, sa, sb)
            .Set(AttributeKey.OutputMultiplier, my)
            .Set(AttributeKey.OutputShift, sy)
            .Set(AttributeKey.QuantizedMin, qmin)
            .Set(AttributeKey.QuantizedMax, qmax);
    }

    private static OpAttributes Int8MulAttributes(QuantizationInfo qa, QuantizationInfo qb, QuantizationInfo qy)
    {
        var (my, sy) = FixedPoint.QuantizeMultiplier((double)qa.Scale * qb.Scale / qy.Scale);
        return new OpAttributes().Set(AttributeKey.OutputMultiplier, my).Set(AttributeKey.OutputShift, sy);
    }

    private static double[] Int8Oracle(sbyte[] a, int[] shapeA, QuantizationInfo qa, sbyte[] b, int[] shapeB, QuantizationInfo qb, int[] shapeY, bool isAdd)
    {
        var y = new double[Oracle.Count(shapeY)];
        for (int i = 0; i < y.Length; i++)
        {
            var index = Oracle.Unravel(i, shapeY);
            double va = Oracle.Dequantize(a[Oracle.BroadcastSource(index, shapeA)], qa);
            double vb = Oracle.Dequantize(b[Oracle.BroadcastSource(index, shapeB)], qb);
            y[i] = isAdd ? va + vb : va * vb;
        }
        return y;
    }

    private static readonly object[] Int8Quantizations =
    {
        // scale a, zp a, scale b, zp b, scale y, zp y
        new object[] { 0.05f, 3, 0.07f, -10, 0.1f, 0 },
        new object[] { 0.5f, -128, 0.002f, 127, 0.5f, -128 },
        new object[] { 0.001f, 127, 0.8f, -128, 0.9f, 127 },
        new object[] { 0.02f, 0, 0.02f, 0, 0.01f, -5 },
    };

    [TestCaseSource(nameof(Int8Quantizations))]
    public void Int8AddIsWithinOneStepOfFloatAdd(float sa, int za, float sb, int zb, float sy, int zy)
    {
        var qa = QuantizationInfo.PerTensor(sa, za);
        var qb = QuantizationInfo.PerTensor(sb, zb);
        var qy = QuantizationInfo.PerTensor(sy, zy);
        foreach (var (shapeA, shapeB) in new[] { (new[] { 2, 3, 5 }, new[] { 3, 1 }), (new[] { 37 }, new[] { 37 }), (new[] { 4, 1, 5 }, new[] { 1, 6, 1 }) })
            foreach (bool constantB in new[] { false, true })
            {
                var shapeY = ShapeUtil.Broadcast(shapeA, shapeB)!;
                var a = Oracle.Int8WithExtremes(31, Oracle.Count(shapeA));
                var b = Oracle.Int8WithExtremes(32, Oracle.Count(shapeB));
                var h = new OpHarness();
                int ia = h.Input("a", shapeA, a, qa);
                int ib = h.Operand("b", shapeB, b, qb, constantB);
                h.Output("y", DataType.Int8, shapeY, qy);
                h.Op(OpType.Add, [ia, ib], Int8AddAttributes(qa, qb, qy));
                Oracle.AssertWithinOneStep(h.RunInt8(), Int8Oracle(a, shapeA, qa, b, shapeB, qb, shapeY, true), qy, $"Add [{ShapeUtil.Format(shapeA)}]+[{ShapeUtil.Format(shapeB)}]");
            }
    }

    [TestCaseSource(nameof(Int8Quantizations))]
    public void Int8MulIsWithinOneStepOfFloatMul(float sa, int za, float sb, int zb, float sy, int zy)
    {
        var qa = QuantizationInfo.PerTensor(sa, za);
        var qb = QuantizationInfo.PerTensor(sb, zb);
        // Products span a wider range than sums; give the output room so most results are not saturated.
        var qy = QuantizationInfo.PerTensor(sy * 20, zy);
        foreach (var (shapeA, shapeB) in new[] { (new[] { 2, 3, 5 }, new[] { 3, 1 }), (new[] { 1 }, new[] { 2, 3 }), (new[] { 4, 1, 5 }, new[] { 1, 6, 1 }) })
        {
            var shapeY = ShapeUtil.Broadcast(shapeA, shapeB)!;
            var a = Oracle.Int8WithExtremes(41, Oracle.Count(shapeA));
            var b = Oracle.Int8WithExtremes(42, Oracle.Count(shapeB));
            var h = new OpHarness();
            int ia = h.Input("a", shapeA, a, qa);
            int ib = h.Input("b", shapeB, b, qb);
            h.Output("y", DataType.Int8, shapeY, qy);
            h.Op(OpType.Mul, [ia, ib], Int8MulAttributes(qa, qb, qy));
            Oracle.AssertWithinOneStep(h.RunInt8(), Int8Oracle(a, shapeA, qa, b, shapeB, qb, shapeY, false), qy, $"Mul [{ShapeUtil.Format(shapeA)}]*[{ShapeUtil.Format(shapeB)}]");
        }
    }

    [Test]
    public void Int8AddEveryLengthFrom0To33WithClamp()
    {
        var qa = QuantizationInfo.PerTensor(0.03f, -7);
        var qb = QuantizationInfo.PerTensor(0.11f, 20);
        var qy = QuantizationInfo.PerTensor(0.12f, -128);
        // A fused Relu6: the clamp is [zy, 6 / sy + zy].
        int qmax = -128 + 50;
        for (int n = 0; n <= 33; n++)
        {
            foreach (var shapeB in new[] { new[] { n }, new[] { 1 } })
            {
                var a = TestData.Int8(300 + n, n);
                var b = TestData.Int8(400 + n, Oracle.Count(shapeB));
                var h = new OpHarness();
                int ia = h.Input("a", [n], a, qa);
                int ib = h.Input("b", shapeB, b, qb);
                h.Output("y", DataType.Int8, [n], qy);
                h.Op(OpType.Add, [ia, ib], Int8AddAttributes(qa, qb, qy, -128, qmax));
                var expected = Int8Oracle(a, [n], qa, b, shapeB, qb, [n], true);
                for (int i = 0; i < n; i++) expected[i] = Math.Min(expected[i], qy.Scale * (qmax - qy.ZeroPoint));
                Oracle.AssertWithinOneStep(h.RunInt8(), expected, qy, $"n={n}");
            }
        }
    }

    [Test]
    public void Int8AddSwappedOperandsGiveIdenticalBytes()
    {
        var qa = QuantizationInfo.PerTensor(0.04f, 9);
        var qb = QuantizationInfo.PerTensor(0.013f, -100);
        var qy = QuantizationInfo.PerTensor(0.05f, 2);
        var a = Oracle.Int8WithExtremes(51, 24);
        var b = Oracle.Int8WithExtremes(52, 24);
        sbyte[] Run(bool swap)
        {
            var h = new OpHarness();
            int ia = h.Input("a", [2, 3, 4], a, qa);
            int ib = h.Input("b", [2, 3, 4], b, qb);
            h.Output("y", DataType.Int8, [2, 3, 4], qy);
            var attributes = swap ? Int8AddAttributes(qb, qa, qy) : Int8AddAttributes(qa, qb, qy);
            h.Op(OpType.Add, swap ? [ib, ia] : [ia, ib], attributes);
            return h.RunInt8();
        }
        Assert.That(Run(true), Is.EqualTo(Run(false)));
    }

    [Test]
    public void Int8AddWithoutRequantizationAttributesIsRejectedAtLoad()
    {
        var q = QuantizationInfo.PerTensor(0.1f, 0);
        var h = new OpHarness();
        int ia = h.Input("a", [4], new sbyte[4], q);
        int ib = h.Input("b", [4], new sbyte[4], q);
        h.Output("y", DataType.Int8, [4], q);
        h.Op(OpType.Add, [ia, ib], new OpAttributes().Set(AttributeKey.LeftShift, 20), name: "add_q");
        var e = Assert.Throws<ModelFormatException>(() => h.Load());
        Assert.That(e!.Message, Does.Contain("Add 'add_q'").And.Contain("InputMultiplier"));
    }
}
