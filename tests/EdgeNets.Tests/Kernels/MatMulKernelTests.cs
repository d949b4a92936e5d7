using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>MatMul reference kernels against a literal numpy-matmul oracle (rank-1 promotion, batch broadcasting).</summary>
[TestFixture]
public class MatMulKernelTests
{
    private static readonly object[] Shapes =
    {
        new object[] { new[] { 3, 4 }, new[] { 4, 5 } },
        new object[] { new[] { 7 }, new[] { 7, 3 } },
        new object[] { new[] { 2, 7 }, new[] { 7 } },
        new object[] { new[] { 9 }, new[] { 9 } },
        new object[] { new[] { 2, 1, 3, 4 }, new[] { 3, 4, 5 } },
        new object[] { new[] { 3, 2, 5 }, new[] { 5, 3 } },
        new object[] { new[] { 6 }, new[] { 2, 3, 6, 4 } },
        new object[] { new[] { 2, 1, 4, 3 }, new[] { 5, 3, 2 } },
        new object[] { new[] { 1, 3, 0 }, new[] { 2, 0, 4 } },
    };

    /// <summary>The numpy matmul output shape, written out from the ONNX description.</summary>
    private static int[] OutputShape(int[] a, int[] b)
    {
        int[] pa = a.Length == 1 ? [1, a[0]] : a;
        int[] pb = b.Length == 1 ? [b[0], 1] : b;
        var batch = ShapeUtil.Broadcast(pa[..^2], pb[..^2])!;
        var shape = new List<int>(batch);
        if (a.Length != 1) shape.Add(pa[^2]);
        if (b.Length != 1) shape.Add(pb[^1]);
        return shape.ToArray();
    }

    /// <summary>y[batch..., i, j] = Σ_k a[batch..., i, k] · b[batch..., k, j] with broadcast batch indices.</summary>
    private static (double[] Value, double[] Magnitude) NumpyMatMul(Func<int, double> a, int[] shapeA, Func<int, double> b, int[] shapeB)
    {
        int[] pa = shapeA.Length == 1 ? [1, shapeA[0]] : shapeA;
        int[] pb = shapeB.Length == 1 ? [shapeB[0], 1] : shapeB;
        var batch = ShapeUtil.Broadcast(pa[..^2], pb[..^2])!;
        int m = pa[^2], k = pa[^1], n = pb[^1];
        int[] full = [.. batch, m, n];
        int count = Oracle.Count(full);
        var value = new double[count];
        var magnitude = new double[count];
        for (int flat = 0; flat < count; flat++)
        {
            var index = Oracle.Unravel(flat, full);
            var batchIndex = index[..^2];
            int i = index[^2], j = index[^1];
            for (int p = 0; p < k; p++)
            {
                int[] ia = [.. batchIndex, i, p];
                int[] ib = [.. batchIndex, p, j];
                double term = a(Oracle.BroadcastSource(ia, pa)) * b(Oracle.BroadcastSource(ib, pb));
                value[flat] += term;
                magnitude[flat] += Math.Abs(term);
            }
        }
        return (value, magnitude);
    }

    [TestCaseSource(nameof(Shapes))]
    public void Float32MatMulMatchesNumpySemantics(int[] shapeA, int[] shapeB)
    {
        foreach (bool constantB in new[] { false, true })
        {
            var a = TestData.Floats(1, Oracle.Count(shapeA), -2, 2);
            var b = TestData.Floats(2, Oracle.Count(shapeB), -2, 2);
            var shapeY = OutputShape(shapeA, shapeB);
            var h = new OpHarness();
            int ia = h.Input("a", shapeA, a);
            int ib = h.Operand("b", shapeB, b, constantB);
            h.Output("y", DataType.Float32, shapeY);
            h.Op(OpType.MatMul, [ia, ib]);
            var (value, magnitude) = NumpyMatMul(i => a[i], shapeA, i => b[i], shapeB);
            Oracle.AssertClose(h.RunFloat(), value, $"[{ShapeUtil.Format(shapeA)}]x[{ShapeUtil.Format(shapeB)}]", magnitude);
        }
    }

    [Test]
    public void Float32MatMulConstantFirstOperand()
    {
        int[] shapeA = [3, 4], shapeB = [2, 4, 5];
        var a = TestData.Floats(5, 12);
        var b = TestData.Floats(6, 40);
        var h = new OpHarness();
        int ia = h.Constant("a", shapeA, a);
        int ib = h.Input("b", shapeB, b);
        h.Output("y", DataType.Float32, [2, 3, 5]);
        h.Op(OpType.MatMul, [ia, ib]);
        var (value, magnitude) = NumpyMatMul(i => a[i], shapeA, i => b[i], shapeB);
        Oracle.AssertClose(h.RunFloat(), value, "const A", magnitude);
    }

    [TestCase(new[] { 3, 4 }, new[] { 5, 6 }, new[] { 3, 6 })]
    [TestCase(new[] { 2, 3, 4 }, new[] { 3, 4, 5 }, new[] { 3, 3, 5 })]
    [TestCase(new[] { 3, 4 }, new[] { 4, 5 }, new[] { 3, 4 })]
    [TestCase(new[] { 4 }, new[] { 4, 5 }, new[] { 1, 5 })]
    public void MismatchedShapesAreRejectedAtLoad(int[] shapeA, int[] shapeB, int[] shapeY)
    {
        var h = new OpHarness();
        int ia = h.Input("a", shapeA, new float[Oracle.Count(shapeA)]);
        int ib = h.Input("b", shapeB, new float[Oracle.Count(shapeB)]);
        h.Output("y", DataType.Float32, shapeY);
        h.Op(OpType.MatMul, [ia, ib], name: "mm");
        var e = Assert.Throws<ModelFormatException>(() => h.Load());
        Assert.That(e!.Message, Does.Contain("MatMul 'mm'"));
    }

    [TestCase(0.02f, 5, 0.03f, -7, 0.05f, 3)]
    [TestCase(0.1f, -128, 0.004f, 127, 0.2f, -128)]
    [TestCase(0.01f, 127, 0.01f, -128, 0.15f, 127)]
    public void Int8MatMulIsWithinOneStepOfFloatMatMul(float sa, int za, float sb, int zb, float sy, int zy)
    {
        var qa = QuantizationInfo.PerTensor(sa, za);
        var qb = QuantizationInfo.PerTensor(sb, zb);
        var qy = QuantizationInfo.PerTensor(sy, zy);
        var (multiplier, shift) = FixedPoint.QuantizeMultiplier((double)sa * sb / sy);
        foreach (var (shapeA, shapeB) in new[] { (new[] { 3, 5 }, new[] { 5, 4 }), (new[] { 2, 1, 3, 7 }, new[] { 3, 7, 2 }), (new[] { 6 }, new[] { 6 }), (new[] { 5 }, new[] { 2, 5, 3 }) })
        {
            var a = Oracle.Int8WithExtremes(7, Oracle.Count(shapeA));
            var b = Oracle.Int8WithExtremes(8, Oracle.Count(shapeB));
            var shapeY = OutputShape(shapeA, shapeB);
            var h = new OpHarness();
            int ia = h.Input("a", shapeA, a, qa);
            int ib = h.Input("b", shapeB, b, qb);
            h.Output("y", DataType.Int8, shapeY, qy);
            h.Op(OpType.MatMul, [ia, ib], new OpAttributes().Set(AttributeKey.OutputMultiplier, multiplier).Set(AttributeKey.OutputShift, shift));
            var (value, _) = NumpyMatMul(i => Oracle.Dequantize(a[i], qa), shapeA, i => Oracle.Dequantize(b[i], qb), shapeB);
            Oracle.AssertWithinOneStep(h.RunInt8(), value, qy, $"[{ShapeUtil.Format(shapeA)}]x[{ShapeUtil.Format(shapeB)}]");
        }
    }

    [Test]
    public void Int8MatMulAppliesQuantizedClamp()
    {
        var q = QuantizationInfo.PerTensor(0.05f, 0);
        var (multiplier, shift) = FixedPoint.QuantizeMultiplier(0.05 * 0.05 / 0.05);
        var a = Oracle.Int8WithExtremes(9, 12);
        var b = Oracle.Int8WithExtremes(10, 20);
        var h = new OpHarness();
        int ia = h.Input("a", [3, 4], a, q);
        int ib = h.Input("b", [4, 5], b, q);
        h.Output("y", DataType.Int8, [3, 5], q);
        h.Op(OpType.MatMul, [ia, ib], new OpAttributes()
            .Set(AttributeKey.OutputMultiplier, multiplier).Set(AttributeKey.OutputShift, shift)
            .Set(AttributeKey.QuantizedMin, 0).Set(AttributeKey.QuantizedMax, 40));
        var (value, _) = NumpyMatMul(i => Oracle.Dequantize(a[i], q), [3, 4], i => Oracle.Dequantize(b[i], q), [4, 5]);
        for (int i = 0; i < value.Length; i++) value[i] = Math.Clamp(value[i], 0, 40 * 0.05);
        var y = h.RunInt8();
        Assert.That(y, Has.All.InRange((sbyte)0, (sbyte)40));
        Oracle.AssertWithinOneStep(y, value, q, "clamped");
    }
}
