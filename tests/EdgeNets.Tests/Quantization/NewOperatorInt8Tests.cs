using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Runtime;
using EdgeNets.Tests.Import;
using EdgeNets.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;
using static EdgeNets.Tests.Import.OnnxModelBuilder;

namespace EdgeNets.Tests.Quantization;

/// <summary>
/// The int8 forms of LayerNorm, InstanceNormalization (as LayerNorm), Erf, Exp, Sqrt, Pow, GELU, Softplus (Mish), ConvTranspose, the reductions, nearest and bilinear resizing and a Pad folded into a Conv, an AveragePool and a MaxPool against ONNX Runtime's float result on held-out inputs: within a
/// few steps of the output's quantization (the int8 kernels have no SIMD variant yet, so the reference is all there is).
/// </summary>
[TestFixture]
public class NewOperatorInt8Tests
{
    private static IEnumerable<TestCaseData> Models()
    {
        yield return new TestCaseData(new OnnxModelBuilder(17).Input("x", 1, 6, 16)
            .Initializer("scale", [16], TestData.Floats(31, 16, 0.5f, 1.5f)).Initializer("bias", [16], TestData.Floats(32, 16))
            .Node("LayerNormalization", "ln", ["x", "scale", "bias"], ["y"], Int("axis", -1)).Output("y").Build(), new[] { 1, 6, 16 }).SetName("LayerNorm");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 3, 4, 5)
            .Initializer("scale", [3], TestData.Floats(33, 3, 0.5f, 1.5f)).Initializer("bias", [3], TestData.Floats(34, 3))
            .Node("InstanceNormalization", "in", ["x", "scale", "bias"], ["y"]).Output("y").Build(), new[] { 1, 3, 4, 5 }).SetName("InstanceNorm");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 64).Node("Erf", "erf", ["x"], ["y"]).Output("y").Build(), new[] { 1, 64 })
            .SetName("Erf");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 64).Node("Exp", "exp", ["x"], ["y"]).Output("y").Build(), new[] { 1, 64 })
            .SetName("Exp");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 64).Node("Relu", "relu", ["x"], ["r"]).Node("Sqrt", "sqrt", ["r"], ["y"])
            .Output("y").Build(), new[] { 1, 64 }).SetName("SqrtOfRelu");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 64).Initializer("two", [1], [2f]).Node("Pow", "square", ["x", "two"], ["y"])
            .Output("y").Build(), new[] { 1, 64 }).SetName("PowSquare");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 64).Node("Softplus", "softplus", ["x"], ["s"]).Node("Tanh", "tanh", ["s"], ["t"])
            .Node("Mul", "mish", ["x", "t"], ["y"]).Output("y").Build(), new[] { 1, 64 }).SetName("Mish");
        yield return new TestCaseData(LoweringGelu(), new[] { 2, 48 }).SetName("GeluFused");
        yield return new TestCaseData(LoweringNumericTests.SelfGateModel("silu"), new[] { 2, 48 }).SetName("SiluFused");
        yield return new TestCaseData(LoweringNumericTests.SelfGateModel("hardswish"), new[] { 2, 48 }).SetName("HardswishFused");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 2, 7, 6).Int64Initializer("pads", [0, 0, 1, 2, 0, 0, 2, 1])
            .Initializer("w", [3, 2, 3, 3], TestData.Floats(63, 54)).Node("Pad", "pad", ["x", "pads"], ["p"])
            .Node("Conv", "conv", ["p", "w"], ["y"]).Output("y").Build(), new[] { 1, 2, 7, 6 }).SetName("PadFoldedIntoConv");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 3, 9, 8).Int64Initializer("pads", [0, 0, 0, 0, 0, 0, 1, 1])
            .Node("Pad", "pad", ["x", "pads"], ["p"]).Node("AveragePool", "pool", ["p"], ["y"], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2))
            .Output("y").Build(), new[] { 1, 3, 9, 8 }).SetName("PadFoldedIntoAveragePool");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 3, 9, 8).Int64Initializer("pads", [0, 0, 1, 1, 0, 0, 1, 1])
            .Node("Relu", "relu", ["x"], ["r"]).Node("Pad", "pad", ["r", "pads"], ["p"])
            .Node("MaxPool", "pool", ["p"], ["y"], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2))
            .Output("y").Build(), new[] { 1, 3, 9, 8 }).SetName("PadFoldedIntoMaxPoolAfterRelu");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 12, 8)
            .Node("ReduceMean", "mean", ["x"], ["y"], Ints("axes", 1), Int("keepdims", 0)).Output("y").Build(), new[] { 1, 12, 8 }).SetName("ReduceMeanOverTime");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 4, 5, 6)
            .Node("ReduceMax", "max", ["x"], ["y"], Ints("axes", 2, 3)).Output("y").Build(), new[] { 1, 4, 5, 6 }).SetName("ReduceMaxSpatial");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 2, 3, 4).Initializer("scales", [4], [1f, 1f, 2f, 2f])
            .Node("Resize", "up", ["x", "", "scales"], ["y"], String("mode", "nearest"), String("coordinate_transformation_mode", "asymmetric"),
                String("nearest_mode", "floor")).Output("y").Build(), new[] { 1, 2, 3, 4 }).SetName("ResizeNearest");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 3, 5, 4).Initializer("scales", [4], [1f, 1f, 2.5f, 1.5f])
            .Node("Resize", "up", ["x", "", "scales"], ["y"], String("mode", "linear")).Output("y").Build(), new[] { 1, 3, 5, 4 }).SetName("ResizeLinear");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 2, 6, 7).Int64Initializer("sizes", [1, 2, 3, 11])
            .Node("Resize", "resize", ["x", "", "", "sizes"], ["y"], String("mode", "linear"), String("coordinate_transformation_mode", "align_corners"))
            .Output("y").Build(), new[] { 1, 2, 6, 7 }).SetName("ResizeLinearAlignCornersBySizes");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 4, 5, 6)
            .Initializer("w", [4, 3, 3, 3], TestData.Floats(61, 108, -0.3f, 0.3f)).Initializer("b", [3], TestData.Floats(62, 3))
            .Node("ConvTranspose", "up", ["x", "w", "b"], ["y"], Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), Ints("output_padding", 1, 1))
            .Output("y").Build(), new[] { 1, 4, 5, 6 }).SetName("ConvTranspose2d");
        yield return new TestCaseData(new OnnxModelBuilder(13).Input("x", 1, 4, 9)
            .Initializer("w", [4, 1, 4], TestData.Floats(63, 16, -0.5f, 0.5f))
            .Node("ConvTranspose", "up", ["x", "w"], ["t"], Ints("strides", 2), Int("group", 2))
            .Node("Relu", "relu", ["t"], ["y"]).Output("y").Build(), new[] { 1, 4, 9 }).SetName("ConvTranspose1dGroupedRelu");
    }

    private static byte[] LoweringGelu() => EdgeNets.Tests.Import.LoweringNumericTests.GeluModel();

    [TestCaseSource(nameof(Models))]
    public void Int8IsWithinAFewQuantizationStepsOfOnnxRuntime(byte[] onnx, int[] shape)
    {
        int count = shape.Aggregate(1, (p, d) => p * d);
        var calibration = Enumerable.Range(0, 32).Select(i => TestData.Floats(100 + i, count, -2f, 2f)).ToList();
        var graph = OnnxImporter.Import(onnx, "op.onnx");
        var model = Model.Load(ModelConverter.Convert(graph, new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = calibration }));
        using var session = model.CreateSession();
        using var ort = new InferenceSession(onnx);
        var output = model.Outputs[0];
        float step = output.Quantization!.Scale;
        for (int sample = 0; sample < 8; sample++)
        {
            var x = TestData.Floats(500 + sample, count, -2f, 2f);
            var ours = new float[output.ElementCount];
            session.Run(x, ours);
            using var results = ort.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, shape))]);
            var expected = results.First().AsTensor<float>().ToArray();
            // Input and output rounding each move a value by half a step; LayerNorm's normalization can scale the input's.
            for (int i = 0; i < ours.Length; i++)
                Assert.That(ours[i], Is.EqualTo(expected[i]).Within(4 * step), $"sample {sample}, element {i}");
        }
    }
    /// <summary>
    /// SiLU in int8 is one table of the int8 input: each output is within half an output step of SiLU at the input's
    /// quantized value, so within that plus the input's rounding (SiLU's slope is below 1.1) of ONNX Runtime's float.
    /// A table for the sigmoid and a rescaled Mul round twice more.
    /// </summary>
    [Test]
    public void SiluIsOneTableRoundedOnce()
    {
        var onnx = LoweringNumericTests.SelfGateModel("silu");
        int[] shape = [2, 48];
        var calibration = Enumerable.Range(0, 32).Select(i => TestData.Floats(100 + i, 96, -4.5f, 4.5f)).ToList();
        var model = Model.Load(ModelConverter.Convert(OnnxImporter.Import(onnx, "silu.onnx"), new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = calibration }));
        Assert.That(model.Graph.Ops.Select(o => o.Type), Is.EqualTo(new[] { EdgeNets.Runtime.Graph.OpType.LookupTable }));
        using var session = model.CreateSession();
        using var ort = new InferenceSession(onnx);
        float inputStep = model.Inputs[0].Quantization!.Scale, outputStep = model.Outputs[0].Quantization!.Scale;
        float bound = 0.5f * outputStep + 1.1f * 0.5f * inputStep + 1e-5f;
        for (int sample = 0; sample < 16; sample++)
        {
            var x = TestData.Floats(700 + sample, 96, -4f, 4f);
            var ours = new float[96];
            session.Run(x, ours);
            using var results = ort.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, shape))]);
            var expected = results.First().AsTensor<float>().ToArray();
            for (int i = 0; i < ours.Length; i++)
                Assert.That(ours[i], Is.EqualTo(expected[i]).Within(bound), $"sample {sample}, element {i}, x = {x[i]}");
        }
    }
}
