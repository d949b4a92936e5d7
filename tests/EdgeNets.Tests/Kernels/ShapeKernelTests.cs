using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>Transpose, Pad and Concat reference kernels against literal index arithmetic.</summary>
[TestFixture]
public class ShapeKernelTests
{
    private static readonly object[] Transposes =
    {
        new object[] { new[] { 3, 5 }, new[] { 1, 0 } },
        new object[] { new[] { 2, 3, 4 }, new[] { 2, 0, 1 } },
        new object[] { new[] { 2, 3, 4 }, new[] { 0, 2, 1 } },
        new object[] { new[] { 2, 3, 4, 5 }, new[] { 0, 2, 3, 1 } },
        new object[] { new[] { 2, 3, 4, 5 }, new[] { 3, 1, 0, 2 } },
        new object[] { new[] { 2, 3, 1, 5, 3 }, new[] { 4, 2, 0, 3, 1 } },
        new object[] { new[] { 2, 3, 4, 5, 2 }, new[] { 0, 1, 2, 3, 4 } },
        new object[] { new[] { 2, 0, 3 }, new[] { 2, 1, 0 } },
    };

    /// <summary>y[i_0..i_r] = x[j] where j[perm[d]] = i[d].</summary>
    private static T[] TransposeOracle<T>(T[] x, int[] shape, int[] perm)
    {
        var shapeY = perm.Select(p => shape[p]).ToArray();
        var y = new T[x.Length];
        for (int flat = 0; flat < y.Length; flat++)
        {
            var index = Oracle.Unravel(flat, shapeY);
            var source = new int[shape.Length];
            for (int d = 0; d < perm.Length; d++) source[perm[d]] = index[d];
            y[flat] = x[Oracle.Ravel(source, shape)];
        }
        return y;
    }

    [TestCaseSource(nameof(Transposes))]
    public void TransposeMovesEveryElement(int[] shape, int[] perm)
    {
        var shapeY = perm.Select(p => shape[p]).ToArray();
        var floats = TestData.Floats(3, Oracle.Count(shape));
        var h = new OpHarness();
        int ix = h.Input("x", shape, floats);
        h.Output("y", DataType.Float32, shapeY);
        h.Op(OpType.Transpose, [ix], new OpAttributes().Set(AttributeKey.Perm, perm));
        Assert.That(h.RunFloat(), Is.EqualTo(TransposeOracle(floats, shape, perm)), "float32");

        var q = QuantizationInfo.PerTensor(0.1f, -3);
        var bytes = Oracle.Int8WithExtremes(4, Oracle.Count(shape));
        var g = new OpHarness();
        int gx = g.Input("x", shape, bytes, q);
        g.Output("y", DataType.Int8, shapeY, q);
        g.Op(OpType.Transpose, [gx], new OpAttributes().Set(AttributeKey.Perm, perm));
        Assert.That(g.RunInt8(), Is.EqualTo(TransposeOracle(bytes, shape, perm)), "int8");
    }

    [Test]
    public void TransposeWithoutPermReversesAxes()
    {
        int[] shape = [2, 3, 4];
        var x = TestData.Floats(5, 24);
        var h = new OpHarness();
        int ix = h.Input("x", shape, x);
        h.Output("y", DataType.Float32, [4, 3, 2]);
        h.Op(OpType.Transpose, [ix]);
        Assert.That(h.RunFloat(), Is.EqualTo(TransposeOracle(x, shape, [2, 1, 0])));
    }

    [TestCase(new[] { 0, 0, 1 })]
    [TestCase(new[] { 0, 1 })]
    public void TransposeWithInvalidPermIsRejectedAtLoad(int[] perm)
    {
        var h = new OpHarness();
        int ix = h.Input("x", [2, 3, 4], new float[24]);
        h.Output("y", DataType.Float32, [2, 3, 4]);
        h.Op(OpType.Transpose, [ix], new OpAttributes().Set(AttributeKey.Perm, perm), name: "tr");
        var e = Assert.Throws<ModelFormatException>(() => h.Load());
        Assert.That(e!.Message, Does.Contain("Transpose 'tr'").And.Contain("Perm"));
    }

    private static readonly object[] Pads =
    {
        new object[] { new[] { 3, 4 }, new[] { 1, 2, 0, 3 } },
        new object[] { new[] { 2, 3, 4 }, new[] { 0, 0, 0, 0, 0, 0 } },
        new object[] { new[] { 1, 2, 3, 5 }, new[] { 0, 0, 1, 2, 0, 0, 3, 0 } },
        new object[] { new[] { 2, 3, 1, 3, 2 }, new[] { 1, 0, 2, 0, 1, 0, 1, 0, 0, 2 } },
        new object[] { new[] { 7 }, new[] { 0, 4 } },
        new object[] { new[] { 2, 0, 3 }, new[] { 1, 1, 0, 0, 2, 1 } },
    };

    /// <summary>y[i] = x[i - begin] where that lies inside x, the pad value elsewhere.</summary>
    private static T[] PadOracle<T>(T[] x, int[] shape, int[] pads, T value)
    {
        int rank = shape.Length;
        var shapeY = new int[rank];
        for (int d = 0; d < rank; d++) shapeY[d] = shape[d] + pads[d] + pads[rank + d];
        var y = new T[Oracle.Count(shapeY)];
        for (int flat = 0; flat < y.Length; flat++)
        {
            var index = Oracle.Unravel(flat, shapeY);
            bool inside = true;
            for (int d = 0; d < rank; d++)
            {
                index[d] -= pads[d];
                inside &= index[d] >= 0 && index[d] < shape[d];
            }
            y[flat] = inside ? x[Oracle.Ravel(index, shape)] : value;
        }
        return y;
    }

    [TestCaseSource(nameof(Pads))]
    public void PadWritesBorderAndCopiesInterior(int[] shape, int[] pads)
    {
        int rank = shape.Length;
        var shapeY = shape.Select((d, i) => d + pads[i] + pads[rank + i]).ToArray();

        var x = TestData.Floats(6, Oracle.Count(shape));
        var h = new OpHarness();
        int ix = h.Input("x", shape, x);
        h.Output("y", DataType.Float32, shapeY);
        h.Op(OpType.Pad, [ix], new OpAttributes().Set(AttributeKey.Pads, pads).Set(AttributeKey.PadValue, -2.5f));
        Assert.That(h.RunFloat(), Is.EqualTo(PadOracle(x, shape, pads, -2.5f)), "float32");

        var q = QuantizationInfo.PerTensor(0.2f, 17);
        var bytes = Oracle.Int8WithExtremes(7, Oracle.Count(shape));
        var g = new OpHarness();
        int gx = g.Input("x", shape, bytes, q);
        g.Output("y", DataType.Int8, shapeY, q);
        g.Op(OpType.Pad, [gx], new OpAttributes().Set(AttributeKey.Pads, pads).Set(AttributeKey.QuantizedPadValue, -128));
        Assert.That(g.RunInt8(), Is.EqualTo(PadOracle(bytes, shape, pads, (sbyte)-128)), "int8");
    }

    [Test]
    public void PadDefaultsToZero()
    {
        int[] shape = [2, 3], pads = [1, 1, 1, 1];
        var x = TestData.Floats(8, 6);
        var h = new OpHarness();
        int ix = h.Input("x", shape, x);
        h.Output("y", DataType.Float32, [4, 5]);
        h.Op(OpType.Pad, [ix], new OpAttributes().Set(AttributeKey.Pads, pads));
        Assert.That(h.RunFloat(), Is.EqualTo(PadOracle(x, shape, pads, 0f)), "float32 pads with 0.0");

        var q = QuantizationInfo.PerTensor(0.2f, 17);
        var bytes = Oracle.Int8WithExtremes(9, 6);
        var g = new OpHarness();
        int gx = g.Input("x", shape, bytes, q);
        g.Output("y", DataType.Int8, [4, 5], q);
        g.Op(OpType.Pad, [gx], new OpAttributes().Set(AttributeKey.Pads, pads));
        Assert.That(g.RunInt8(), Is.EqualTo(PadOracle(bytes, shape, pads, (sbyte)17)), "int8 pads with the zero point (real 0)");
    }

    [TestCase(new[] { 1, 1, 1 }, new[] { 4, 5 })]
    [TestCase(new[] { -1, 0, 1, 0 }, new[] { 2, 3 })]
    [TestCase(new[] { 1, 1, 1, 1 }, new[] { 4, 6 })]
    public void PadWithBadPadsIsRejectedAtLoad(int[] pads, int[] shapeY)
    {
        var h = new OpHarness();
        int ix = h.Input("x", [2, 3], new float[6]);
        h.Output("y", DataType.Float32, shapeY);
        h.Op(OpType.Pad, [ix], new OpAttributes().Set(AttributeKey.Pads, pads), name: "pad");
        var e = Assert.Throws<ModelFormatException>(() => h.Load());
        Assert.That(e!.Message, Does.Contain("Pad 'pad'"));
    }

    /// <summary>Concatenation written out: the output index along the axis selects the input and its local index.</summary>
    private static T[] ConcatOracle<T>(T[][] xs, int[][] shapes, int axis, Func<int, T, T> convert)
    {
        var shapeY = (int[])shapes[0].Clone();
        shapeY[axis] = shapes.Sum(s => s[axis]);
        var y = new T[Oracle.Count(shapeY)];
        for (int flat = 0; flat < y.Length; flat++)
        {
            var index = Oracle.Unravel(flat, shapeY);
            int input = 0;
            while (index[axis] >= shapes[input][axis]) index[axis] -= shapes[input++][axis];
            y[flat] = convert(input, xs[input][Oracle.Ravel(index, shapes[input])]);
        }
        return y;
    }

    private static int[][] ConcatShapes(int[] baseShape, int axis, int[] lengths) =>
        lengths.Select(n => { var s = (int[])baseShape.Clone(); s[axis] = n; return s; }).ToArray();

    [TestCase(new[] { 2, 3, 4 }, 0, new[] { 1, 3, 2 })]
    [TestCase(new[] { 2, 3, 4 }, 1, new[] { 2, 0, 5 })]
    [TestCase(new[] { 2, 3, 4 }, -1, new[] { 3, 1 })]
    [TestCase(new[] { 1, 3, 5, 7 }, 1, new[] { 3, 2, 1, 4, 1 })]
    [TestCase(new[] { 9 }, 0, new[] { 9 })]
    public void Float32ConcatAlongAxis(int[] baseShape, int axis, int[] lengths)
    {
        int normalized = axis < 0 ? axis + baseShape.Length : axis;
        var shapes = ConcatShapes(baseShape, normalized, lengths);
        var xs = shapes.Select((s, i) => TestData.Floats(20 + i, Oracle.Count(s))).ToArray();
        var expected = ConcatOracle(xs, shapes, normalized, (_, v) => v);
        var h = new OpHarness();
        var ids = xs.Select((x, i) => h.Operand($"x{i}", shapes[i], x, constant: i == 1)).ToArray();
        var shapeY = (int[])baseShape.Clone();
        shapeY[normalized] = lengths.Sum();
        h.Output("y", DataType.Float32, shapeY);
        h.Op(OpType.Concat, ids, new OpAttributes().Set(AttributeKey.Axis, axis));
        Assert.That(h.RunFloat(), Is.EqualTo(expected));
    }

    [TestCase(1)]
    [TestCase(-3)]
    [TestCase(3)]
    public void Int8ConcatRescalesEachInputToTheOutput(int axis)
    {
        int[] baseShape = [2, 3, 5, 4];
        int normalized = axis < 0 ? axis + 4 : axis;
        var shapes = ConcatShapes(baseShape, normalized, [2, 3, 1]);
        var quants = new[]
        {
            QuantizationInfo.PerTensor(0.01f, -128),
            QuantizationInfo.PerTensor(0.5f, 127),
            QuantizationInfo.PerTensor(0.07f, 0),
        };
        var qy = QuantizationInfo.PerTensor(0.3f, -20);
        var xs = shapes.Select((s, i) => Oracle.Int8WithExtremes(30 + i, Oracle.Count(s))).ToArray();
        var multipliers = new int[3];
        var shifts = new int[3];
        for (int i = 0; i < 3; i++) (multipliers[i], shifts[i]) = FixedPoint.QuantizeMultiplier((double)quants[i].Scale / qy.Scale);

        var h = new OpHarness();
        var ids = xs.Select((x, i) => h.Input($"x{i}", shapes[i], x, quants[i])).ToArray();
        var shapeY = (int[])baseShape.Clone();
        shapeY[normalized] = 6;
        h.Output("y", DataType.Int8, shapeY, qy);
        h.Op(OpType.Concat, ids, new OpAttributes().Set(AttributeKey.Axis, axis)
            .Set(AttributeKey.InputMultiplier, multipliers).Set(AttributeKey.InputShift, shifts));
        var expected = ConcatOracle(xs.Select(x => x.Select(v => (double)v).ToArray()).ToArray(), shapes, normalized,
            (input, q) => quants[input].Scale * (q - quants[input].ZeroPoint));
        Oracle.AssertWithinOneStep(h.RunInt8(), expected, qy, $"axis {axis}");
    }

    [Test]
    public void Int8ConcatWithSharedQuantizationCopiesExactly()
    {
        var q = QuantizationInfo.PerTensor(0.04f, 11);
        var (m, s) = FixedPoint.QuantizeMultiplier(1.0);
        var a = Oracle.Int8WithExtremes(40, 6);
        var b = Oracle.Int8WithExtremes(41, 9);
        var h = new OpHarness();
        int ia = h.Input("a", [2, 3], a, q);
        int ib = h.Input("b", [3, 3], b, q);
        h.Output("y", DataType.Int8, [5, 3], q);
        h.Op(OpType.Concat, [ia, ib], new OpAttributes().Set(AttributeKey.Axis, 0)
            .Set(AttributeKey.InputMultiplier, m, m).Set(AttributeKey.InputShift, s, s));
        Assert.That(h.RunInt8(), Is.EqualTo(a.Concat(b).ToArray()));
    }

    [Test]
    public void ConcatWithMismatchedInputsIsRejectedAtLoad()
    {
        var h = new OpHarness();
        int ia = h.Input("a", [2, 3], new float[6]);
        int ib = h.Input("b", [2, 4], new float[8]);
        h.Output("y", DataType.Float32, [4, 3]);
        h.Op(OpType.Concat, [ia, ib], new OpAttributes().Set(AttributeKey.Axis, 0), name: "cat");
        var e = Assert.Throws<ModelFormatException>(() => h.Load());
        Assert.That(e!.Message, Does.Contain("Concat 'cat'"));
    }
}
