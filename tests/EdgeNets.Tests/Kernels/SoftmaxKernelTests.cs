using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>Softmax reference kernels against a double-precision single-axis softmax (opset 13).</summary>
[TestFixture]
public class SoftmaxKernelTests
{
    /// <summary>y = exp(x - max) / Σ exp(x - max) over each slice along <paramref name="axis"/>.</summary>
    private static double[] Softmax(Func<int, double> x, int[] shape, int axis)
    {
        int count = Oracle.Count(shape);
        var y = new double[count];
        for (int flat = 0; flat < count; flat++)
        {
            var index = Oracle.Unravel(flat, shape);
            double max = double.NegativeInfinity;
            for (int k = 0; k < shape[axis]; k++) { index[axis] = k; max = Math.Max(max, x(Oracle.Ravel(index, shape))); }
            double sum = 0;
            for (int k = 0; k < shape[axis]; k++) { index[axis] = k; sum += Math.Exp(x(Oracle.Ravel(index, shape)) - max); }
            y[flat] = Math.Exp(x(flat) - max) / sum;
        }
        return y;
    }

    [TestCase(new[] { 3, 4, 5 }, 0)]
    [TestCase(new[] { 3, 4, 5 }, 1)]
    [TestCase(new[] { 3, 4, 5 }, -1)]
    [TestCase(new[] { 2, 33 }, -1)]
    [TestCase(new[] { 1, 10, 3, 3 }, 1)]
    [TestCase(new[] { 7 }, 0)]
    [TestCase(new[] { 2, 0, 3 }, 1)]
    public void Float32SoftmaxWithLargeValues(int[] shape, int axis)
    {
        int normalized = axis < 0 ? axis + shape.Length : axis;
        foreach (var (offset, spread) in new[] { (0f, 4f), (1000f, 60f), (-1000f, 30f) })
        {
            var x = TestData.Floats(61, Oracle.Count(shape), offset - spread, offset + spread);
            var h = new OpHarness();
            int ix = h.Input("x", shape, x);
            h.Output("y", DataType.Float32, shape);
            h.Op(OpType.Softmax, [ix], new OpAttributes().Set(AttributeKey.Axis, axis));
            var y = h.RunFloat();
            Assert.That(y, Has.None.NaN, "large inputs must not overflow");
            Oracle.AssertClose(y, Softmax(i => x[i], shape, normalized), $"axis {axis} offset {offset}", magnitude: null, relative: 1e-5);
        }
    }

    [Test]
    public void Float32SoftmaxDefaultAxisIsLast()
    {
        int[] shape = [3, 6];
        var x = TestData.Floats(62, 18, -5, 5);
        var h = new OpHarness();
        int ix = h.Input("x", shape, x);
        h.Output("y", DataType.Float32, shape);
        h.Op(OpType.Softmax, [ix]);
        Oracle.AssertClose(h.RunFloat(), Softmax(i => x[i], shape, 1), "default axis");
    }

    [TestCase(new[] { 3, 4, 5 }, 0, 0.07f, 10)]
    [TestCase(new[] { 3, 4, 5 }, 1, 0.2f, -128)]
    [TestCase(new[] { 3, 4, 5 }, -1, 0.02f, 127)]
    [TestCase(new[] { 2, 1000 }, -1, 0.05f, 0)]
    [TestCase(new[] { 4, 3 }, -1, 1.0f, 0)]
    public void Int8SoftmaxIsWithinOneStepOfFloatSoftmax(int[] shape, int axis, float scale, int zeroPoint)
    {
        int normalized = axis < 0 ? axis + shape.Length : axis;
        var qx = QuantizationInfo.PerTensor(scale, zeroPoint);
        var qy = QuantizationInfo.PerTensor(1f / 256, -128);
        var x = Oracle.Int8WithExtremes(70, Oracle.Count(shape));
        // One slice of all -128 (a uniform distribution) and one with both extremes next to each other.
        int sliceStride = 1;
        for (int d = normalized + 1; d < shape.Length; d++) sliceStride *= shape[d];
        for (int k = 0; k < shape[normalized]; k++) x[k * sliceStride] = -128;
        if (shape[normalized] > 1) x[(Oracle.Count(shape) - 1) - sliceStride] = -128;

        var h = new OpHarness();
        int ix = h.Input("x", shape, x, qx);
        int it = h.Constant("exp", [256], LookupTables.BuildSoftmaxExpTable(scale));
        h.Output("y", DataType.Int8, shape, qy);
        h.Op(OpType.Softmax, [ix, it], new OpAttributes().Set(AttributeKey.Axis, axis));
        Oracle.AssertWithinOneStep(h.RunInt8(), Softmax(i => Oracle.Dequantize(x[i], qx), shape, normalized), qy, $"axis {axis}");
    }

    [Test]
    public void SoftmaxExpTableHoldsExpOfMinusDistanceTimesScale()
    {
        foreach (float scale in new[] { 0.001f, 0.05f, 0.5f, 3f })
        {
            var table = LookupTables.BuildSoftmaxExpTable(scale);
            Assert.That(table, Has.Length.EqualTo(256));
            Assert.That(table[0], Is.EqualTo(1f));
            for (int d = 0; d < 256; d++)
            {
                // Float rounding: relative for normal numbers, one denormal step for the tiny tail.
                double want = Math.Exp(-d * (double)scale);
                Assert.That(Math.Abs(table[d] - want), Is.LessThanOrEqualTo(1e-7 * want + float.Epsilon), $"scale {scale} d {d}");
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => LookupTables.BuildSoftmaxExpTable(0));
    }
}
