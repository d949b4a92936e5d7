using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;
using Onnx;
using static EdgeNets.Tests.Support.OnnxRuntimeRunner;

namespace EdgeNets.Tests.Import;

/// <summary>
/// Pre-quantized models in QOperator form (QLinearConv, QLinearMatMul, QGemm and com.microsoft's QLinear* companions).
/// Oracles: the same model in QDQ form (tests/data/qoperator, tools/training/make_qoperator_test_models.py rewrote
/// EdgeNets' own QDQ export into QOperator nodes) must give the same .enet bytes, and ONNX Runtime runs the QOperator
/// model itself.
/// </summary>
[TestFixture]
public class QOperatorImportTests
{
    private static string Fixture(string name) => Path.Combine(RepoPaths.TestData, "qoperator", name);

    private static NpyArray Inputs(string stem) => stem == "gesture_digits"
        ? NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "test_inputs.npy"))
        : NpyFile.Read(Fixture(stem + ".input.npy"));

    private static ModelGraph Convert(byte[] onnx, string name)
    {
        var imported = OnnxImporter.ImportModel(onnx, name);
        Assert.That(imported.Given.Changes, Is.Empty, name);
        return ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given });
    }

    [TestCase("gesture_digits")]
    [TestCase("resnet8_32")]
    [TestCase("qop_mix")]
    public void QOperatorModel_GivesTheSameBytesAsItsQdqForm(string stem)
    {
        byte[] qop = File.ReadAllBytes(Fixture(stem + ".qop.onnx"));
        var ops = ModelProto.Parser.ParseFrom(qop).Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.That(ops, Does.Contain("QLinearConv"), "the fixture is in QOperator form");

        var fromQop = Convert(qop, "model.qop.onnx");
        var fromQdq = Convert(File.ReadAllBytes(Fixture(stem + ".qdq.onnx")), "model.qdq.onnx");
        Assert.That(fromQop.Metadata["calibration"], Does.StartWith("none"));
        fromQop.Metadata["source"] = fromQdq.Metadata["source"];
        Assert.That(EnetWriter.Write(fromQop), Is.EqualTo(EnetWriter.Write(fromQdq)));
    }

    /// <summary>
    /// Whole models against ONNX Runtime. (qop_mix chains ten requantizing operators whose roundings differ from ONNX
    /// Runtime's by up to a step each, as its QDQ form does; its operators are checked one at a time below.)
    /// </summary>
    [TestCase("gesture_digits")]
    [TestCase("resnet8_32")]
    public void QOperatorModel_IsWithinOneStepOfOnnxRuntime(string stem)
    {
        byte[] qop = File.ReadAllBytes(Fixture(stem + ".qop.onnx"));
        var model = Model.Load(EnetWriter.Write(Convert(qop, stem + ".qop.onnx")));
        var (worst, _) = CompareWithOnnxRuntime(qop, model, Inputs(stem), null);
        TestContext.Out.WriteLine($"{stem}: worst difference from ONNX Runtime {worst:F2} output steps");
        Assert.That(worst, Is.LessThanOrEqualTo(1.0001));
    }

    /// <summary>
    /// QGemm as ONNX Runtime defines it beyond what the fixtures use: alpha, B as [K, N] (transB 0) quantized per
    /// column, an int32 bias at alpha x A scale x B scale, uint8 input; then QLinearSigmoid. Against ONNX Runtime.
    /// </summary>
    [Test]
    public void QGemm_WithAlphaAndPerColumnWeights_MatchesOnnxRuntimeWithinOneStep()
    {
        var rng = new Random(5);
        const int k = 6, n = 4;
        float[] bScales = [0.02f, 0.01f, 0.03f, 0.015f];
        var b = new OnnxModelBuilder(13).Input("x", 1, k).Output("y")
            .Initializer("xs", [], [0.01f]).IntegerInitializer("xz", 2, [], 128)
            .IntegerInitializer("w_quantized", 3, [k, n], Enumerable.Range(0, k * n).Select(_ => rng.Next(-127, 128)).ToArray())
            .Initializer("ws", [n], bScales).IntegerInitializer("wz", 3, [n], 0, 0, 0, 0)
            .IntegerInitializer("bias_quantized", 6, [n], Enumerable.Range(0, n).Select(_ => rng.Next(-3000, 3000)).ToArray())
            .Initializer("hs", [], [0.02f]).IntegerInitializer("hz", 2, [], 120)
            .Initializer("ys", [], [1 / 256f]).IntegerInitializer("yz", 2, [], 0)
            .Node("QuantizeLinear", "xq", ["x", "xs", "xz"], ["x_quantized"])
            .Node("QGemm", "fc", ["x_quantized", "xs", "xz", "w_quantized", "ws", "wz", "bias_quantized", "hs", "hz"], ["h_quantized"],
                  OnnxModelBuilder.Float("alpha", 0.5f)).InDomain("com.microsoft")
            .Node("QLinearSigmoid", "sigmoid", ["h_quantized", "hs", "hz", "ys", "yz"], ["y_quantized"]).InDomain("com.microsoft")
            .Node("DequantizeLinear", "ydq", ["y_quantized", "ys", "yz"], ["y"]);
        byte[] onnx = b.Build();
        var imported = OnnxImporter.ImportModel(onnx, "qgemm.onnx");
        var graph = ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given });
        Assert.That(imported.Given.Changes, Is.Empty, "the bias is at alpha x input scale x weight scale");
        var model = Model.Load(EnetWriter.Write(graph));

        var inputs = Enumerable.Range(0, 32).SelectMany(_ => Enumerable.Range(0, k).Select(_ => (float)(rng.NextDouble() * 2.4 - 1.2))).ToArray();
        var (worst, _) = CompareWithOnnxRuntime(onnx, model, new NpyArray(NpyType.Float32, [32, k], System.Runtime.InteropServices.MemoryMarshal.AsBytes(inputs.AsSpan()).ToArray()), null);
        TestContext.Out.WriteLine($"worst difference from ONNX Runtime: {worst:F2} output steps");
        Assert.That(worst, Is.LessThanOrEqualTo(1.0001));
    }

    public static IEnumerable<TestCaseData> SingleOperators()
    {
        var none = Array.Empty<AttributeProto>();
        yield return Single("QLinearConv", "", ["w_quantized", "ws", "wz"], none);
        yield return Single("QLinearMatMul", "", ["m_quantized", "ms", "mz"], none);
        yield return Single("QLinearAdd", "com.microsoft", ["c_quantized", "cs", "cz"], none);
        yield return Single("QLinearMul", "com.microsoft", ["c_quantized", "cs", "cz"], none);
        yield return Single("QLinearSigmoid", "com.microsoft", [], none);
        yield return Single("QLinearLeakyRelu", "com.microsoft", [], [OnnxModelBuilder.Float("alpha", 0.2f)]);
        yield return Single("QLinearAveragePool", "com.microsoft", [], [OnnxModelBuilder.Ints("kernel_shape", 2, 2), OnnxModelBuilder.Ints("strides", 2, 2),
            OnnxModelBuilder.Ints("pads", 0, 0, 1, 1), OnnxModelBuilder.Int("count_include_pad", 1)]);
        yield return Single("QLinearGlobalAveragePool", "com.microsoft", [], none);
        yield return Single("QLinearConcat", "com.microsoft", ["x_quantized", "xs", "xz"], [OnnxModelBuilder.Int("axis", 1)]);

        static TestCaseData Single(string op, string domain, string[] second, AttributeProto[] attributes) =>
            new TestCaseData(op, domain, second, attributes).SetName($"SingleOperator_IsWithinOneStepOfOnnxRuntime({op})");
    }

    /// <summary>
    /// x [1, 4, 5, 5] -> QuantizeLinear (uint8) -> one QOperator node (a constant or x itself as second operand) ->
    /// DequantizeLinear: EdgeNets' int8 operator against ONNX Runtime's QOperator kernel, within one output step.
    /// </summary>
    [TestCaseSource(nameof(SingleOperators))]
    public void SingleOperator_IsWithinOneStepOfOnnxRuntime(string op, string domain, string[] second, AttributeProto[] attributes)
    {
        var rng = new Random(op.Length);
        int[] Bytes(int count, int min, int max) => Enumerable.Range(0, count).Select(_ => rng.Next(min, max)).ToArray();
        string[] x = ["x_quantized", "xs", "xz"], y = ["ys", "yz"];
        string[] inputs = op switch
        {
            "QLinearConv" => [.. x, .. second, .. y, "b_quantized"],
            "QLinearConcat" => [.. y, .. x, .. second],
            _ => [.. x, .. second, .. y],
        };
        var b = new OnnxModelBuilder(13).Input("x", 1, 4, 5, 5).Output("y")
            .Initializer("xs", [], [0.01f]).IntegerInitializer("xz", 2, [], 128)
            .Initializer("ys", [], [0.015f]).IntegerInitializer("yz", 2, [], 110)
            .IntegerInitializer("w_quantized", 3, [3, 4, 3, 3], Bytes(108, -127, 128)).Initializer("ws", [3], [0.003f, 0.002f, 0.004f]).IntegerInitializer("wz", 3, [3], 0, 0, 0)
            .IntegerInitializer("b_quantized", 6, [3], Bytes(3, -2000, 2000))
            .IntegerInitializer("m_quantized", 3, [5, 3], Bytes(15, -127, 128)).Initializer("ms", [], [0.004f]).IntegerInitializer("mz", 3, [], 0)
            .IntegerInitializer("c_quantized", 2, [1, 4, 1, 1], Bytes(4, 0, 256)).Initializer("cs", [], [0.008f]).IntegerInitializer("cz", 2, [], 100)
            .Node("QuantizeLinear", "xq", ["x", "xs", "xz"], ["x_quantized"])
            .Node(op, "node", inputs, ["y_quantized"], attributes);
        if (domain != "") b.InDomain(domain);
        byte[] onnx = b.Node("DequantizeLinear", "ydq", ["y_quantized", "ys", "yz"], ["y"]).Build();

        var graph = Convert(onnx, op + ".onnx");
        Assert.That(graph.Ops.Select(o => o.Name), Does.Contain("node"), "the QOperator node became an operator of its name");
        var model = Model.Load(EnetWriter.Write(graph));
        var samples = Enumerable.Range(0, 16 * 100).Select(_ => (float)(rng.NextDouble() * 2.4 - 1.2)).ToArray();
        var (worst, _) = CompareWithOnnxRuntime(onnx, model, new NpyArray(NpyType.Float32, [16, 4, 5, 5],
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(samples.AsSpan()).ToArray()), null);
        TestContext.Out.WriteLine($"{op}: worst difference from ONNX Runtime {worst:F2} output steps");
        Assert.That(worst, Is.LessThanOrEqualTo(1.0001));
    }

    /// <summary>A QOperator node without an EdgeNets operator is named alone: the ones that are imported are not listed with it.</summary>
    [Test]
    public void UnsupportedQOperatorNode_IsRefusedAloneNamingNodeAndOperator()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 4).Output("y")
            .Initializer("s", [], [0.1f]).IntegerInitializer("z", 2, [], 128)
            .Initializer("ys", [], [1 / 256f]).IntegerInitializer("yz", 2, [], 0)
            .IntegerInitializer("w_quantized", 3, [4, 4], Enumerable.Range(0, 16).ToArray()).Initializer("ws", [], [0.01f]).IntegerInitializer("wz", 3, [], 0)
            .Node("QuantizeLinear", "q", ["x", "s", "z"], ["xq"])
            .Node("QLinearMatMul", "fc", ["xq", "s", "z", "w_quantized", "ws", "wz", "s", "z"], ["hq"])
            .Node("QLinearSoftmax", "probabilities", ["hq", "s", "z", "ys", "yz"], ["yq"], OnnxModelBuilder.Int("axis", -1)).InDomain("com.microsoft")
            .Node("DequantizeLinear", "dq", ["yq", "ys", "yz"], ["y"]).Build();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.ImportModel(onnx, "softmax.onnx"));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.StartWith("softmax.onnx: 1 operator is not supported: com.microsoft.QLinearSoftmax (1 node: 'probabilities')"));
        Assert.That(e.Message, Does.Not.Contain("QLinearMatMul").And.Not.Contain("\n"));
    }

    [Test]
    public void ChannelsLastPool_IsRefusedNamingTheNode()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 2, 4, 4).Output("y")
            .Initializer("s", [], [0.1f]).IntegerInitializer("z", 2, [], 128)
            .Node("QuantizeLinear", "q", ["x", "s", "z"], ["xq"])
            .Node("QLinearGlobalAveragePool", "gap", ["xq", "s", "z", "s", "z"], ["yq"], OnnxModelBuilder.Int("channels_last", 1)).InDomain("com.microsoft")
            .Node("DequantizeLinear", "dq", ["yq", "s", "z"], ["y"]).Build();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.ImportModel(onnx, "nhwc.onnx"));
        Assert.That(e!.Message, Does.StartWith("nhwc.onnx: node 'gap' (QLinearGlobalAveragePool)").And.Contain("channels_last"));
    }

    /// <summary>uint8 weights with zero point 128 whose values minus it fit [-127, 127] become symmetric int8 exactly, and it is said.</summary>
    [Test]
    public void Uint8ConvWeights_WithinTheSymmetricRange_AreMovedExactlyAndSaid()
    {
        int[] weights = [1, 128, 255, 200, 60, 128, 130, 7];
        var imported = OnnxImporter.ImportModel(ConvModel(weights), "conv.onnx");
        var model = ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given });
        var w = model.Tensors[model.Ops.Single(o => o.Type == OpType.Conv).Inputs[1]];
        Assert.That(w.Data.ToArray().Select(v => (int)(sbyte)v), Is.EqualTo(weights.Select(v => v - 128)));
        Assert.That(imported.Given.Changes, Has.One.Contains("'conv'").And.Contains("moved to symmetric int8, exactly"));
    }

    [Test]
    public void Uint8ConvWeights_OutsideTheSymmetricRange_AreRefusedNamingTheNode()
    {
        var imported = OnnxImporter.ImportModel(ConvModel([0, 128, 255, 200, 60, 128, 130, 7]), "conv.onnx");
        var e = Assert.Throws<ConversionException>(() => ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given }));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("'conv'").And.Contain("asymmetric"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }

    /// <summary>x [1, 4, 3, 3] -> QLinearConv 'conv' (1x1, 2 output channels, uint8 weights at zero point 128, scale 0.05) -> y.</summary>
    private static byte[] ConvModel(int[] weights) =>
        new OnnxModelBuilder(13).Input("x", 1, 4, 3, 3).Output("y")
            .Initializer("xs", [], [0.02f]).IntegerInitializer("xz", 2, [], 120)
            .Initializer("ys", [], [0.1f]).IntegerInitializer("yz", 2, [], 128)
            .IntegerInitializer("w_quantized", 2, [2, 4, 1, 1], weights)
            .Initializer("ws", [], [0.05f]).IntegerInitializer("wz", 2, [], 128)
            .Node("QuantizeLinear", "xq", ["x", "xs", "xz"], ["x_quantized"])
            .Node("QLinearConv", "conv", ["x_quantized", "xs", "xz", "w_quantized", "ws", "wz", "ys", "yz"], ["y_quantized"])
            .Node("DequantizeLinear", "ydq", ["y_quantized", "ys", "yz"], ["y"])
            .Build();
}
