using EdgeNets.Converter;
using EdgeNets.Converter.Export;
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
/// Pre-quantized (QDQ) ONNX models: their own scales and zero points are kept, with no calibration. Oracles: the model
/// EdgeNets itself converted (an exported QDQ model must come back byte for byte), ONNX Runtime running the QDQ model,
/// and the scales written in the ONNX file.
/// </summary>
[TestFixture]
public class QdqImportTests
{
    public static IEnumerable<TestCaseData> RoundTripModels()
    {
        foreach (var name in new[] { "gesture-digits", "activity-hapt", "airquality-forecast" })
            foreach (var type in new[] { QdqActivationType.UInt8, QdqActivationType.Int8 })
                yield return new TestCaseData(Path.Combine(RepoPaths.Models, name, "model.onnx"), type).SetName($"ExportThenImport_GivesTheSameBytes({name},{type})");
        foreach (var stem in new[] { "mobilenet_v1_025_96", "resnet8_32", "deepconvlstm_imu" })
            yield return new TestCaseData(Path.Combine(RepoPaths.Root, "tools", "benchmarks", "models", stem + ".onnx"), QdqActivationType.UInt8).SetName($"ExportThenImport_GivesTheSameBytes({stem})");
    }

    /// <summary>
    /// `convert --export-qdq` then `convert` of the QDQ model without calibration: every tensor, weight, scale, multiplier
    /// and arena offset is the same; only the metadata naming the source file and how it was calibrated differ.
    /// </summary>
    [TestCaseSource(nameof(RoundTripModels))]
    public void ExportThenImport_GivesTheSameBytes(string onnxPath, QdqActivationType type)
    {
        var graph = OnnxImporter.Import(onnxPath);
        string calibration = Path.Combine(Path.GetDirectoryName(onnxPath)!, "calibration.npy");
        var samples = File.Exists(calibration) ? Samples(NpyFile.Read(calibration)) : RandomSamples(graph.Tensors[graph.Inputs[0]].ElementCount, 8);
        var original = ModelConverter.ConvertToGraph(graph, new ConvertOptions { CalibrationSamples = samples });
        var qdq = QdqExporter.Export(File.ReadAllBytes(onnxPath), original, new QdqExportOptions { ActivationType = type });

        var imported = OnnxImporter.ImportModel(qdq, "model.qdq.onnx");
        var reconverted = ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given });

        Assert.That(imported.Given.Changes, Is.Empty);
        Assert.That(reconverted.Metadata["calibration"], Does.StartWith("none"));
        Assert.That(reconverted.Metadata["source"], Is.EqualTo("model.qdq.onnx"));
        reconverted.Metadata.Clear();
        foreach (var (key, value) in original.Metadata) reconverted.Metadata[key] = value;
        Assert.That(EnetWriter.Write(reconverted), Is.EqualTo(EnetWriter.Write(original)));
    }

    /// <summary>The imported gesture model against ONNX Runtime running the QDQ model it came from, on its test images.</summary>
    [Test]
    public void ImportedGestureModel_IsWithinOneStepOfOnnxRuntime()
    {
        string dir = RepoPaths.GestureModel, onnxPath = Path.Combine(dir, "model.onnx");
        var original = ModelConverter.ConvertToGraph(OnnxImporter.Import(onnxPath),
            new ConvertOptions { CalibrationSamples = Samples(NpyFile.Read(Path.Combine(dir, "calibration.npy"))) });
        var qdq = QdqExporter.Export(File.ReadAllBytes(onnxPath), original);
        var imported = OnnxImporter.ImportModel(qdq, "model.qdq.onnx");
        var model = Model.Load(ModelConverter.Convert(imported.Graph, new ConvertOptions { Given = imported.Given }));

        var (worst, _) = CompareWithOnnxRuntime(qdq, model, NpyFile.Read(Path.Combine(dir, "test_inputs.npy")), null);
        TestContext.Out.WriteLine($"worst difference from ONNX Runtime: {worst:F2} output steps");
        Assert.That(worst, Is.LessThanOrEqualTo(1.0001));
    }

    /// <summary>
    /// The gesture-digits network after eager-mode quantization-aware training (tools/training/train_qat_gesture_digits.py),
    /// exported by torch.onnx: imported with its own scales, it gives ONNX Runtime's outputs on the QDQ model within one step.
    /// </summary>
    [Test]
    public void QatGestureModel_KeepsItsScalesAndMatchesOnnxRuntime()
    {
        string path = Path.Combine(RepoPaths.TestData, "qdq", "qat_gesture_digits.onnx");
        var imported = OnnxImporter.ImportModel(path);
        var model = Model.Load(ModelConverter.Convert(imported.Graph, new ConvertOptions { Given = imported.Given }));
        Assert.That(imported.Given.Changes, Is.Empty);
        var labels = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "test_labels.npy")).ToInt32();
        var (worst, accuracy) = CompareWithOnnxRuntime(File.ReadAllBytes(path), model, NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "test_inputs.npy")), labels);
        TestContext.Out.WriteLine($"worst difference from ONNX Runtime: {worst:F2} output steps; accuracy edgenets {accuracy.Ours:P2}, ONNX Runtime {accuracy.Theirs:P2}");
        Assert.That(worst, Is.LessThanOrEqualTo(1.0001));
        Assert.That(Math.Abs(accuracy.Ours - accuracy.Theirs), Is.LessThanOrEqualTo(0.002));
    }

    /// <summary>PyTorch 1.13's eager-mode post-training quantization, exported by torch.onnx (tools/training/make_qdq_test_models.py).</summary>
    [TestCase("ptq_cnn_per_tensor")]
    [TestCase("ptq_cnn_per_channel")]
    public void PyTorchModel_KeepsItsScalesAndMatchesOnnxRuntimeWithinOneStep(string stem)
    {
        string path = Path.Combine(RepoPaths.TestData, "qdq", stem + ".onnx");
        var inputArray = NpyFile.Read(Path.ChangeExtension(path, ".input.npy"));
        var inputs = Samples(inputArray);
        var imported = OnnxImporter.ImportModel(path);
        var model = Model.Load(ModelConverter.Convert(imported.Graph, new ConvertOptions { Given = imported.Given }));

        // The graph input and output carry the scales of the ONNX file's first QuantizeLinear and last DequantizeLinear.
        var onnx = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var (inScale, inZero) = PairOf(onnx, onnx.Graph.Node.First(n => n.OpType == "QuantizeLinear"));
        var (outScale, outZero) = PairOf(onnx, onnx.Graph.Node.Last(n => n.OpType == "DequantizeLinear"));
        var input = model.Graph.Tensors[model.Graph.Inputs[0]].Quantization!;
        var output = model.Graph.Tensors[model.Graph.Outputs[0]].Quantization!;
        Assert.That((input.Scale, input.ZeroPoint), Is.EqualTo((inScale, inZero - 128)), "uint8 zero point z is int8 z - 128");
        Assert.That((output.Scale, output.ZeroPoint), Is.EqualTo((outScale, outZero - 128)));
        Assert.That(model.Graph.Metadata["calibration"], Does.StartWith("none"));

        var (worst, _) = CompareWithOnnxRuntime(File.ReadAllBytes(path), model, inputArray, null);
        TestContext.Out.WriteLine($"{stem}: worst difference from ONNX Runtime {worst:F2} output steps over {inputs.Count} samples; changes: {string.Join("; ", imported.Given.Changes)}");
        Assert.That(worst, Is.LessThanOrEqualTo(1.0001));
    }

    /// <summary>
    /// ONNX Runtime's quantize_static layout (per-tensor int8 weights and int32 bias as initializers named *_quantized,
    /// a pair on Conv's output and another after Relu, one QuantizeLinear read by a DequantizeLinear per consumer),
    /// built by hand since ONNX Runtime's Python tooling is not in Debian: within one output step of ONNX Runtime.
    /// </summary>
    [Test]
    public void OnnxRuntimeLayout_SharedQuantizeAndUnfusedRelu_MatchesOnnxRuntimeWithinOneStep()
    {
        var rng = new Random(11);
        int[] weights = Enumerable.Range(0, 3 * 2 * 3 * 3).Select(_ => rng.Next(-127, 128)).ToArray();
        int[] bias = Enumerable.Range(0, 3).Select(_ => rng.Next(-2000, 2000)).ToArray();
        const float xScale = 0.01f, wScale = 0.004f;
        var b = new OnnxModelBuilder(13).Input("x", 1, 2, 6, 6).Output("y");
        void Pair(string value, float scale, int zero, params string[] dequantized)
        {
            b.Initializer(value + "_scale", [], [scale]).IntegerInitializer(value + "_zero_point", 2, [], zero)
                .Node("QuantizeLinear", value + "_QuantizeLinear", [value, value + "_scale", value + "_zero_point"], [value + "_quantized"]);
            foreach (var d in dequantized)
                b.Node("DequantizeLinear", d + "_DequantizeLinear", [value + "_quantized", value + "_scale", value + "_zero_point"], [d]);
        }
        Pair("x", xScale, 128, "x_dq");
        b.IntegerInitializer("w_quantized", 3, [3, 2, 3, 3], weights).Initializer("w_scale", [], [wScale]).IntegerInitializer("w_zero_point", 3, [], 0)
            .Node("DequantizeLinear", "w_DequantizeLinear", ["w_quantized", "w_scale", "w_zero_point"], ["w"])
            .IntegerInitializer("b_quantized", 6, [3], bias).Initializer("b_scale", [], [xScale * wScale]).IntegerInitializer("b_zero_point", 6, [], 0)
            .Node("DequantizeLinear", "b_DequantizeLinear", ["b_quantized", "b_scale", "b_zero_point"], ["bias"])
            .Node("Conv", "conv", ["x_dq", "w", "bias"], ["c"], OnnxModelBuilder.Ints("pads", 1, 1, 1, 1));
        // Conv's own pair saturates at 1.38 (ONNX Runtime clamps there before Relu): the fused clamp keeps it.
        Pair("c", 0.012f, 140, "c_dq");
        b.Node("Relu", "relu", ["c_dq"], ["r"]);
        Pair("r", 0.012f, 0, "r_dq_1", "r_dq_2");
        b.Node("Add", "add", ["r_dq_1", "r_dq_2"], ["s"]);
        Pair("s", 0.025f, 0, "y");
        byte[] onnx = b.Build();

        var imported = OnnxImporter.ImportModel(onnx, "ort_layout.onnx");
        var model = Model.Load(ModelConverter.Convert(imported.Graph, new ConvertOptions { Given = imported.Given }));
        Assert.That(imported.Given.Changes, Is.Empty);
        var conv = model.Graph.Ops.Single(o => o.Type == OpType.Conv);
        Assert.That(model.Graph.Tensors[conv.Inputs[1]].Name, Is.EqualTo("w"), "the weights keep their initializer's name less _quantized");
        Assert.That(model.Graph.Tensors[conv.Inputs[2]].Data.ToArray(), Is.EqualTo(bias.SelectMany(BitConverter.GetBytes).ToArray()), "the given int32 bias");
        var output = model.Graph.Tensors[model.Graph.Outputs[0]].Quantization!;
        Assert.That((output.Scale, output.ZeroPoint), Is.EqualTo((0.025f, -128)));

        using var ort = Session(onnx);
        using var session = model.CreateSession();
        var ours = new float[model.Graph.Tensors[model.Graph.Outputs[0]].ElementCount];
        double worst = 0;
        for (int i = 0; i < 20; i++)
        {
            var x = Enumerable.Range(0, 72).Select(_ => (float)(rng.NextDouble() * 2.4 - 1.2)).ToArray();
            session.Run(x, ours);
            worst = Math.Max(worst, WorstSteps(ours, Run(ort, x, [1, 2, 6, 6]), output.Scale));
        }
        TestContext.Out.WriteLine($"worst difference from ONNX Runtime: {worst:F2} output steps");
        Assert.That(worst, Is.LessThanOrEqualTo(1.0001));
    }

    /// <summary>With calibration data as well, the model's own scales win: the same model as without.</summary>
    [Test]
    public void CalibrationData_DoesNotOverrideGivenScales()
    {
        string path = Path.Combine(RepoPaths.TestData, "qdq", "ptq_cnn_per_channel.onnx");
        var samples = Samples(NpyFile.Read(Path.ChangeExtension(path, ".input.npy")));
        var imported = OnnxImporter.ImportModel(path);
        var without = ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given });
        var with = ModelConverter.ConvertToGraph(OnnxImporter.ImportModel(path).Graph, new ConvertOptions { Given = imported.Given, CalibrationSamples = samples });
        Assert.That(with.Metadata["calibration"], Does.Contain("given by the model"));
        with.Metadata["calibration"] = without.Metadata["calibration"];
        Assert.That(EnetWriter.Write(with), Is.EqualTo(EnetWriter.Write(without)));
    }

    /// <summary>uint8 weights whose values minus the zero point fit [-127, 127] become int8 symmetric weights exactly.</summary>
    [Test]
    public void Uint8Weights_WithinTheSymmetricRange_AreMovedExactly()
    {
        int[] weights = [1, 128, 255, 200, 60, 128, 130, 7];
        var imported = OnnxImporter.ImportModel(GemmModel(ConstTensorType.UInt8, weights, zeroPoint: 128), "gemm.onnx");
        var model = ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given });
        var gemm = model.Ops.Single(o => o.Type == OpType.Gemm);
        var w = model.Tensors[gemm.Inputs[1]];
        Assert.That(w.Data.ToArray().Select(b => (int)(sbyte)b), Is.EqualTo(weights.Select(v => v - 128)));
        Assert.That(w.Quantization!.Scales, Is.All.EqualTo(0.05f));
        Assert.That(imported.Given.Changes, Has.One.Contains("moved to symmetric int8, exactly"));
    }

    [Test]
    public void Uint8Weights_OutsideTheSymmetricRange_AreRefusedNamingTheNode()
    {
        var imported = OnnxImporter.ImportModel(GemmModel(ConstTensorType.UInt8, [0, 128, 255, 200, 60, 128, 130, 7], zeroPoint: 128), "gemm.onnx");
        var e = Assert.Throws<ConversionException>(() => ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given }));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("'fc'").And.Contain("asymmetric").And.Contain("-128"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public void Int8WeightAtMinus128_IsRaisedAndSaid()
    {
        var imported = OnnxImporter.ImportModel(GemmModel(ConstTensorType.Int8, [-128, 5, 127, -3, 0, 1, -128, 2], zeroPoint: 0), "gemm.onnx");
        var model = ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given });
        var w = model.Tensors[model.Ops.Single(o => o.Type == OpType.Gemm).Inputs[1]];
        Assert.That(w.Data.ToArray().Select(b => (int)(sbyte)b), Is.EqualTo(new[] { -127, 5, 127, -3, 0, 1, -127, 2 }));
        Assert.That(imported.Given.Changes, Has.One.Contains("2 weights").And.Contains("raised to -127"));
    }

    [Test]
    public void PerAxisActivation_IsRefusedNamingTheNode()
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 2).Output("y")
            .Initializer("s", [2], [0.1f, 0.2f]).IntegerInitializer("z", 2, [2], 128, 128)
            .Node("QuantizeLinear", "q", ["x", "s", "z"], ["xq"], OnnxModelBuilder.Int("axis", 1))
            .Node("DequantizeLinear", "dq", ["xq", "s", "z"], ["xd"], OnnxModelBuilder.Int("axis", 1))
            .Node("Relu", "relu", ["xd"], ["y"]);
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.ImportModel(b.Build(), "axis.onnx"));
        Assert.That(e!.Message, Does.StartWith("axis.onnx: node 'q' (QuantizeLinear)").And.Contain("per axis"));
    }

    [Test]
    public void IntegerGraphOutput_IsRefusedNamingIt()
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 2).Output("xq")
            .Initializer("s", [], [0.1f]).IntegerInitializer("z", 2, [], 128)
            .Node("QuantizeLinear", "q", ["x", "s", "z"], ["xq"]);
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.ImportModel(b.Build(), "int_out.onnx"));
        Assert.That(e!.Message, Does.StartWith("int_out.onnx: graph output 'xq'").And.Contain("DequantizeLinear"));
    }

    [Test]
    public void ActivationWithoutScale_NeedsCalibration()
    {
        // y = Relu(x) with a pair on x only: y has no scale in the model.
        var b = new OnnxModelBuilder(13).Input("x", 1, 2).Output("y")
            .Initializer("s", [], [0.1f]).IntegerInitializer("z", 2, [], 128)
            .Node("QuantizeLinear", "q", ["x", "s", "z"], ["xq"])
            .Node("DequantizeLinear", "dq", ["xq", "s", "z"], ["xd"])
            .Node("Sigmoid", "sig", ["xd"], ["y"]);
        var imported = OnnxImporter.ImportModel(b.Build(), "partial.onnx");
        var e = Assert.Throws<ConversionException>(() => ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given }));
        Assert.That(e!.Message, Does.Contain("'y'").And.Contain("--calibration"));
        var model = ModelConverter.ConvertToGraph(imported.Graph, new ConvertOptions { Given = imported.Given, CalibrationSamples = [[-1f, 2f]] });
        Assert.That(model.Tensors[model.Inputs[0]].Quantization!.Scale, Is.EqualTo(0.1f));
    }

    private enum ConstTensorType { UInt8 = 2, Int8 = 3 }

    /// <summary>x [1, 4] -> pair -> Gemm 'fc' (transB, weights [2, 4] of the given type and zero point, scale 0.05) -> pair -> y.</summary>
    private static byte[] GemmModel(ConstTensorType type, int[] weights, int zeroPoint) =>
        new OnnxModelBuilder(13).Input("x", 1, 4).Output("y")
            .Initializer("xs", [], [0.02f]).IntegerInitializer("xz", 2, [], 120)
            .Initializer("ys", [], [0.1f]).IntegerInitializer("yz", 2, [], 128)
            .IntegerInitializer("w_quantized", (int)type, [2, 4], weights)
            .Initializer("ws", [], [0.05f]).IntegerInitializer("wz", (int)type, [], zeroPoint)
            .Node("QuantizeLinear", "xq", ["x", "xs", "xz"], ["x_q"])
            .Node("DequantizeLinear", "xdq", ["x_q", "xs", "xz"], ["x_d"])
            .Node("DequantizeLinear", "wdq", ["w_quantized", "ws", "wz"], ["w_d"])
            .Node("Gemm", "fc", ["x_d", "w_d"], ["y_f"], OnnxModelBuilder.Int("transB", 1))
            .Node("QuantizeLinear", "yq", ["y_f", "ys", "yz"], ["y_q"])
            .Node("DequantizeLinear", "ydq", ["y_q", "ys", "yz"], ["y"])
            .Build();

    /// <summary>Scale and uint8 zero point of a QuantizeLinear/DequantizeLinear node, read from the Constant nodes that feed it.</summary>
    private static (float Scale, int ZeroPoint) PairOf(ModelProto model, NodeProto node)
    {
        TensorProto Constant(string name) => model.Graph.Node.Single(n => n.OpType == "Constant" && n.Output[0] == name).Attribute[0].T;
        var scale = Constant(node.Input[1]);
        var zero = Constant(node.Input[2]);
        Assert.That(zero.DataType, Is.EqualTo(2), "PyTorch writes uint8 activations");
        return (BitConverter.ToSingle(scale.RawData.Span), zero.RawData[0]);
    }

    private static List<float[]> RandomSamples(int size, int count)
    {
        var rng = new Random(7);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, size).Select(_ => (float)rng.NextDouble()).ToArray()).ToList();
    }
}
