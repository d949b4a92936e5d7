using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>The int16-activation (16x8) reference kernels at their extremes, against exact integer arithmetic.</summary>
public class Int16KernelTests
{
    /// <summary>
    /// A Gemm whose sum (8192 products of -32768 and -128: 2^35) leaves int32: the result is the int64 sum rescaled.
    /// Real multiplier 2^-25: row 0 gives 2^10 plus its bias of 3·2^25, row 1 (weights ±127 in turn) gives 0.
    /// </summary>
    [Test]
    public void Gemm_SumsBeyondInt32_InInt64()
    {
        const int k = 8192;
        var g = new TestGraph();
        int a = g.Input("a", DataType.Int16, [1, k], QuantizationInfo.PerTensor(1f, 0));
        var weights = new sbyte[2 * k];
        for (int i = 0; i < k; i++) { weights[i] = -128; weights[k + i] = (sbyte)(i % 2 == 0 ? 127 : -127); }
        int w = g.Constant("w", DataType.Int8, [2, k], weights, new QuantizationInfo([1f, 1f], 0, axis: 0));
        int b = g.Constant("b", DataType.Int64, [2], new long[] { 3L << 25, 0 });
        int y = g.Output("y", DataType.Int16, [1, 2], QuantizationInfo.PerTensor(1f, 0));
        var (m, s) = FixedPoint.QuantizeMultiplier(Math.ScaleB(1.0, -25));
        g.Op(OpType.Gemm, [a, w, b], [y], new OpAttributes().Set(AttributeKey.OutputMultiplier, m).Set(AttributeKey.OutputShift, s));
        var model = g.Build();
        using var session = model.CreateSession();
        var input = session.GetInputBytes(0);
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(input).Fill(short.MinValue);
        session.Invoke();
        var output = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(session.GetTensorBytes(model.Graph.Outputs[0]));
        Assert.That(output.ToArray(), Is.EqualTo(new short[] { 1024 + 3, 0 }));
    }

    /// <summary>TFLite's 16x8 rescale: the multiplier rounded to 16 bits, one rounding shift; ties go up.</summary>
    [TestCase(1L << 35, 1 << 30, -24, 1024L)]
    [TestCase(-(1L << 35), 1 << 30, -24, -1024L)]
    [TestCase(3L, 1 << 30, 0, 2L)]          // 1.5 rounds up
    [TestCase(-3L, 1 << 30, 0, -1L)]        // -1.5 rounds up too
    [TestCase(1000L, 0x7FFFFFFF, 14, 16383500L)] // the largest multiplier becomes 0x7FFF
    public void MultiplyByQuantizedMultiplier_Int64(long x, int multiplier, int shift, long expected) =>
        Assert.That(FixedPoint.MultiplyByQuantizedMultiplier(x, multiplier, shift), Is.EqualTo(expected));
}
