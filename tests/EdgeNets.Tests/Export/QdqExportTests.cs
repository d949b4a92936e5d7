using EdgeNets.Converter;
using EdgeNets.Converter.Export;
using EdgeNets.Converter.Import;
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;
using static EdgeNets.Tests.Support.OnnxRuntimeRunner;

namespace EdgeNets.Tests.Export;

/// <summary>
/// ONNX Runtime's int8 (QDQ) form of converted models. ONNX Runtime is an independent int8 implementation of the same
/// quantized model (same int8 weights, int32 biases, activation scales and zero points), so its output must stay within
/// a few output quantization steps of ours, and ONNX Runtime must actually fuse the pairs into its int8 kernels.
/// </summary>
[TestFixture]
public class QdqExportTests
{
    /// <summary>ONNX Runtime's int8 operators that a fused QDQ model runs.</summary>
    private static readonly string[] QuantizedOps = ["QLinearConv", "QLinearMatMul", "QGemm", "ConvInteger", "MatMulInteger", "MatMulIntegerToFloat", "QLinearAdd", "QLinearMul", "QLinearSoftmax", "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearSigmoid", "QLinearLeakyRelu", "QLinearConcat"];

    public static IEnumerable<TestCaseData> OperatorModels() =>
        Support.OperatorModels.Files("*_op17.onnx").Select(f => new TestCaseData(f).SetName($"QdqMatchesInt8({f})"));

    /// <summary>Every PyTorch-exported operator model: ONNX Runtime on the QDQ model against our int8 model on the same input.</summary>
    [TestCaseSource(nameof(OperatorModels))]
    public void QdqMatchesInt8(string fileName)
    {
        var (model, input, path) = Support.OperatorModels.ConvertInt8(fileName);
        var x = input.ToFloat32();
        var export = QdqExporter.Export(Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)), model.Graph);

        var output = model.Graph.Tensors[model.Graph.Outputs[0]];
        var ours = new float[output.ElementCount];
        using (var session = model.CreateSession()) session.Run(x, ours);
        var (theirs, ops) = RunOnnxRuntime(export.ToBytes(), x, input.Shape);

        float step = output.Quantization!.Scale;
        double worst = WorstSteps(ours, theirs, step);
        TestContext.Out.WriteLine($"{fileName}: worst difference {worst:F1} output steps; ONNX Runtime ran {string.Join(", ", ops.Distinct())}");
        Assert.That(worst, Is.LessThanOrEqualTo(3), "ONNX Runtime's int8 output is far from ours");
        bool weighted = model.Graph.Ops.Any(o => o.Type is Runtime.Graph.OpType.Conv or Runtime.Graph.OpType.Gemm);
        if (weighted)
        {
            Assert.That(export.QuantizedWeights, Is.EqualTo(model.Graph.Ops.Count(o => o.Type is Runtime.Graph.OpType.Conv or Runtime.Graph.OpType.Gemm)));
            Assert.That(ops, Has.Some.AnyOf(QuantizedOps), "ONNX Runtime did not fuse the QDQ model into int8 kernels");
            Assert.That(ops, Has.None.AnyOf("Conv", "Gemm", "MatMul"), "a weighted operator was left in float");
        }
    }

    [Test]
    public void GestureModel_QdqAccuracyAndAgreementWithInt8()
    {
        string dir = RepoPaths.GestureModel;
        var calibration = Samples(NpyFile.Read(Path.Combine(dir, "calibration.npy")));
        var testArray = NpyFile.Read(Path.Combine(dir, "test_inputs.npy"));
        var inputs = Samples(testArray);
        var labels = NpyFile.Read(Path.Combine(dir, "test_labels.npy")).ToInt32();
        string onnxPath = Path.Combine(dir, "model.onnx");
        var model = Model.Load(ModelConverter.Convert(OnnxImporter.Import(onnxPath),
            new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = calibration }));
        var export = QdqExporter.Export(Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath)), model.Graph);
        Assert.That(export.FloatOperators, Is.Empty);

        int[] sampleShape = [1, .. testArray.Shape[1..]];
        var ops = OptimizedOps(export.ToBytes());
        TestContext.Out.WriteLine($"ONNX Runtime's optimized graph: {string.Join(", ", ops)}");
        Assert.That(ops.Count(o => o == "QLinearConv"), Is.EqualTo(3));
        Assert.That(ops.Count(o => o == "QGemm"), Is.EqualTo(2));

        using var qdq = Session(export.ToBytes());
        using var reference = Session(File.ReadAllBytes(onnxPath));
        using var session = model.CreateSession();
        var output = model.Graph.Tensors[model.Graph.Outputs[0]];
        float step = output.Quantization!.Scale;
        var ours = new float[output.ElementCount];
        int floatCorrect = 0, qdqCorrect = 0, oursCorrect = 0, agree = 0;
        var steps = new List<double>();
        for (int i = 0; i < inputs.Count; i++)
        {
            var theirs = Run(qdq, inputs[i], sampleShape);
            var exact = Run(reference, inputs[i], sampleShape);
            session.Run(inputs[i], ours);
            steps.Add(WorstSteps(ours, theirs, step));
            if (ArgMax(exact) == labels[i]) floatCorrect++;
            if (ArgMax(theirs) == labels[i]) qdqCorrect++;
            if (ArgMax(ours) == labels[i]) oursCorrect++;
            if (ArgMax(ours) == ArgMax(theirs)) agree++;
        }
        steps.Sort();
        double n = inputs.Count;
        TestContext.Out.WriteLine($"accuracy: float {floatCorrect / n:P2}, ONNX Runtime int8 {qdqCorrect / n:P2}, edgenets int8 {oursCorrect / n:P2}; " +
            $"top-1 agreement edgenets/ONNX Runtime int8 {agree / n:P2}; output difference in steps: median {steps[steps.Count / 2]:F1}, " +
            $"99th percentile {steps[(int)(0.99 * (steps.Count - 1))]:F1}, worst {steps[^1]:F1}");
        Assert.That(Math.Abs(qdqCorrect - floatCorrect) / n, Is.LessThanOrEqualTo(0.015), "ONNX Runtime's int8 accuracy is far from the float model's");
        Assert.That(agree / n, Is.GreaterThanOrEqualTo(0.98), "ONNX Runtime's int8 top-1 disagrees with ours too often");
        Assert.That(steps[steps.Count / 2], Is.LessThanOrEqualTo(2), "typical output difference from ONNX Runtime's int8");
        Assert.That(steps[^1], Is.LessThanOrEqualTo(8), "worst output difference from ONNX Runtime's int8");
    }

    /// <summary>The benchmark models (random weights, MLPerf Tiny shapes): depthwise/pointwise stacks and residual Adds.</summary>
    [TestCase("mobilenet_v1_025_96", 27, 0)]
    [TestCase("resnet8_32", 9, 3)]
    public void BenchmarkModel_FusesIntoInt8KernelsAndMatchesInt8(string stem, int convs, int adds)
    {
        string onnxPath = Path.Combine(RepoPaths.Root, "tools", "benchmarks", "models", stem + ".onnx");
        var graph = OnnxImporter.Import(onnxPath);
        var inputShape = graph.Tensors[graph.Inputs[0]].Shape;
        int size = graph.Tensors[graph.Inputs[0]].ElementCount;
        var rng = new Random(7);
        var samples = Enumerable.Range(0, 10).Select(_ => Enumerable.Range(0, size).Select(_ => (float)rng.NextDouble()).ToArray()).ToList();
        var model = Model.Load(ModelConverter.Convert(graph, new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = samples[..8] }));
        var qdqBytes = QdqExporter.Export(File.ReadAllBytes(onnxPath), model.Graph);

        var ops = OptimizedOps(qdqBytes);
        TestContext.Out.WriteLine($"{stem}: {string.Join(", ", ops.GroupBy(o => o).Select(g => $"{g.Key} x{g.Count()}"))}");
        Assert.That(ops.Count(o => o == "QLinearConv"), Is.EqualTo(convs));
        Assert.That(ops.Count(o => o == "QLinearAdd"), Is.EqualTo(adds));
        Assert.That(ops, Has.None.AnyOf("Conv", "Gemm", "MatMul"));

        var output = model.Graph.Tensors[model.Graph.Outputs[0]];
        var ours = new float[output.ElementCount];
        using var qdq = Session(qdqBytes);
        using var session = model.CreateSession();
        foreach (var x in samples[8..])
        {
            session.Run(x, ours);
            double worst = WorstSteps(ours, Run(qdq, x, inputShape), output.Quantization!.Scale);
            TestContext.Out.WriteLine($"{stem}: worst difference {worst:F1} output steps");
            Assert.That(worst, Is.LessThanOrEqualTo(8));
        }
    }

    /// <summary>LSTM/GRU have no int8 form in ONNX Runtime: the GRU stays float between pairs, the rest is int8.</summary>
    [Test]
    public void RecurrentModel_KeepsGruFloatAndAgreesWithInt8()
    {
        string dir = Path.Combine(RepoPaths.Models, "activity-hapt");
        string onnxPath = Path.Combine(dir, "model.onnx");
        var calibration = Samples(NpyFile.Read(Path.Combine(dir, "calibration.npy")));
        var testArray = NpyFile.Read(Path.Combine(dir, "test_inputs.npy"));
        var inputs = Samples(testArray).Take(200).ToList();
        var model = Model.Load(ModelConverter.Convert(OnnxImporter.Import(onnxPath),
            new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = calibration }));
        var export = QdqExporter.Export(Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath)), model.Graph);
        Assert.That(export.FloatOperators, Has.Count.EqualTo(1).And.Some.StartsWith("GRU"));

        var ops = OptimizedOps(export.ToBytes());
        TestContext.Out.WriteLine($"activity-hapt: {string.Join(", ", ops.GroupBy(o => o).Select(g => $"{g.Key} x{g.Count()}"))}");
        Assert.That(ops, Has.Member("QLinearConv").And.Member("GRU"));

        int[] sampleShape = [1, .. testArray.Shape[1..]];
        using var qdq = Session(export.ToBytes());
        using var session = model.CreateSession();
        var ours = new float[model.Graph.Tensors[model.Graph.Outputs[0]].ElementCount];
        int agree = 0;
        foreach (var x in inputs)
        {
            session.Run(x, ours);
            if (ArgMax(ours) == ArgMax(Run(qdq, x, sampleShape))) agree++;
        }
        TestContext.Out.WriteLine($"activity-hapt: top-1 agreement edgenets/ONNX Runtime QDQ {(double)agree / inputs.Count:P1}");
        Assert.That((double)agree / inputs.Count, Is.GreaterThanOrEqualTo(0.95));
    }

    [Test]
    public void Int8Activations_AreTheSameModel()
    {
        string path = Path.Combine(RepoPaths.TestData, "onnx", "conv_bn_relu_op17.onnx");
        var input = NpyFile.Read(Path.ChangeExtension(path, ".input.npy"));
        var x = input.ToFloat32();
        var model = Model.Load(ModelConverter.Convert(OnnxImporter.Import(path, new ImportOptions { BatchSize = input.Shape[0] }),
            new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = [x] }));
        var onnx = File.ReadAllBytes(path);
        var unsigned = RunOnnxRuntime(QdqExporter.Export(onnx, model.Graph, new QdqExportOptions { ActivationType = QdqActivationType.UInt8 }), x, input.Shape);
        var signed = RunOnnxRuntime(QdqExporter.Export(onnx, model.Graph, new QdqExportOptions { ActivationType = QdqActivationType.Int8 }), x, input.Shape);
        Assert.That(signed.Ops, Has.Member("QLinearConv"));
        float step = model.Graph.Tensors[model.Graph.Outputs[0]].Quantization!.Scale;
        Assert.That(WorstSteps(unsigned.Output, signed.Output, step), Is.LessThanOrEqualTo(1));
    }

    [Test]
    public void ModelFromAnotherOnnxFile_IsRejected()
    {
        string dir = RepoPaths.GestureModel;
        var calibration = Samples(NpyFile.Read(Path.Combine(dir, "calibration.npy"))).Take(4).ToList();
        var model = Model.Load(ModelConverter.Convert(OnnxImporter.Import(Path.Combine(dir, "model.onnx")),
            new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = calibration }));
        var other = File.ReadAllBytes(Path.Combine(RepoPaths.TestData, "onnx", "conv_bn_relu_op17.onnx"));
        var e = Assert.Throws<ConversionException>(() => QdqExporter.Export(other, model.Graph));
        Assert.That(e!.Message, Does.Contain("no matching node"));

        var floatModel = Model.Load(ModelConverter.Convert(OnnxImporter.Import(Path.Combine(dir, "model.onnx")), new ConvertOptions { Precision = Precision.Float32 }));
        e = Assert.Throws<ConversionException>(() => QdqExporter.Export(File.ReadAllBytes(Path.Combine(dir, "model.onnx")), floatModel.Graph));
        Assert.That(e!.Message, Does.Contain("int8"));
    }

    // ---- helpers ----

    /// <summary>
    /// ConvTranspose (with a fused Relu): the int8 weights go back to ONNX's [C, M, k...] layout, per channel on axis 1,
    /// and ONNX Runtime's result on the QDQ model stays within a few output steps of ours. Grouped ones are rejected by
    /// name: ONNX's axis 1 holds M/group channels, fewer than the int8 model's scales.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    public void ConvTranspose_WeightsGoBackToOnnxLayoutAndMatchInt8(int group)
    {
        int[] shape = [1, 4, 5, 6];
        var onnx = new Import.OnnxModelBuilder(13).Input("x", 1, 4, 5, 6)
            .Initializer("w", [4, 3, 3, 3], TestData.Floats(71, 108, -0.3f, 0.3f)).Initializer("b", [3 * group], TestData.Floats(72, 3 * group))
            .Node("ConvTranspose", "up", ["x", "w", "b"], ["t"], Import.OnnxModelBuilder.Ints("strides", 2, 2), Import.OnnxModelBuilder.Ints("pads", 1, 1, 1, 1),
                Import.OnnxModelBuilder.Ints("output_padding", 1, 1), Import.OnnxModelBuilder.Int("group", group))
            .Node("Relu", "relu", ["t"], ["y"]).Output("y").Build();
        int count = shape.Aggregate(1, (p, d) => p * d);
        var calibration = Enumerable.Range(0, 16).Select(i => TestData.Floats(200 + i, count, -2f, 2f)).ToList();
        var graph = ModelConverter.Convert(OnnxImporter.Import(onnx, "deconv.onnx"), new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = calibration });
        var model = Model.Load(graph);
        if (group != 1)
        {
            var e = Assert.Throws<ConversionException>(() => QdqExporter.Export(Onnx.ModelProto.Parser.ParseFrom(onnx), model.Graph));
            Assert.That(e!.Message, Does.Contain("ConvTranspose 'up' has group 2"));
            return;
        }
        var export = QdqExporter.Export(Onnx.ModelProto.Parser.ParseFrom(onnx), model.Graph);
        Assert.That(export.QuantizedWeights, Is.EqualTo(1));

        var output = model.Graph.Tensors[model.Graph.Outputs[0]];
        float step = output.Quantization!.Scale;
        using var session = model.CreateSession();
        using var ort = Session(export.ToBytes());
        for (int sample = 0; sample < 4; sample++)
        {
            var x = TestData.Floats(300 + sample, count, -2f, 2f);
            var ours = new float[output.ElementCount];
            session.Run(x, ours);
            Assert.That(WorstSteps(ours, Run(ort, x, shape), step), Is.LessThanOrEqualTo(3), $"sample {sample}");
        }
    }

    /// <summary>
    /// A Linear on a rank-3 tensor (MatMul + Add of the bias behind an Identity, as PyTorch exports a transformer's
    /// projections) is one int8 Gemm with that bias; its QDQ form is MatMul on the int8 weights plus the dequantized
    /// int32 bias, within a few output steps of ours in ONNX Runtime.
    /// </summary>
    [Test]
    public void MatMulWithFoldedBias_ExportsMatMulAndBiasAdd()
    {
        int[] shape = [1, 6, 8];
        var onnx = new Import.OnnxModelBuilder(17).Input("x", 1, 6, 8)
            .Initializer("w", [8, 5], TestData.Floats(81, 40, -0.5f, 0.5f)).Initializer("b", [5], TestData.Floats(82, 5))
            .Node("Identity", "bias_alias", ["b"], ["c"])
            .Node("MatMul", "matmul", ["x", "w"], ["p"])
            .Node("Add", "add", ["c", "p"], ["y"]).Output("y").Build();
        int count = shape.Aggregate(1, (p, d) => p * d);
        var calibration = Enumerable.Range(0, 16).Select(i => TestData.Floats(400 + i, count, -2f, 2f)).ToList();
        var model = Model.Load(ModelConverter.Convert(OnnxImporter.Import(onnx, "linear.onnx"), new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = calibration }));
        var export = QdqExporter.Export(Onnx.ModelProto.Parser.ParseFrom(onnx), model.Graph);
        Assert.That(export.QuantizedWeights, Is.EqualTo(1));

        var output = model.Graph.Tensors[model.Graph.Outputs[0]];
        float step = output.Quantization!.Scale;
        using var session = model.CreateSession();
        using var ort = Session(export.ToBytes());
        for (int sample = 0; sample < 4; sample++)
        {
            var x = TestData.Floats(500 + sample, count, -2f, 2f);
            var ours = new float[output.ElementCount];
            session.Run(x, ours);
            Assert.That(WorstSteps(ours, Run(ort, x, shape), step), Is.LessThanOrEqualTo(3), $"sample {sample}");
        }
    }

    private static int ArgMax(float[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /// <summary>The operator types of the graph ONNX Runtime runs after its optimizations (written by OptimizedModelFilePath).</summary>
    private static List<string> OptimizedOps(byte[] onnx)
    {
        string dir = RepoPaths.TempDirectory();
        try
        {
            string optimized = Path.Combine(dir, "optimized.onnx");
            using (Session(onnx, optimized)) { }
            return Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Select(n => n.OpType).ToList();
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static (float[] Output, List<string> Ops) RunOnnxRuntime(byte[] onnx, float[] x, int[] shape)
    {
        using var session = Session(onnx);
        return (Run(session, x, shape), OptimizedOps(onnx));
    }
}
