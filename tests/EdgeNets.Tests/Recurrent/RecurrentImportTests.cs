using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Conformance;
using EdgeNets.Tests.Import;
using EdgeNets.Tests.Support;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;
using Onnx;
using static EdgeNets.Tests.Import.OnnxModelBuilder;

namespace EdgeNets.Tests.Recurrent;

/// <summary>
/// Recurrent graphs in the shapes exporters write (Transpose/Squeeze/Gather/Slice around LSTM/GRU/RNN, initial
/// states from ConstantOfShape, stacked layers, Conv1d before a GRU) imported and run against ONNX Runtime at 1e-4;
/// plus the PyTorch exports of tests/data/onnx-rnn.
/// </summary>
[TestFixture]
public class RecurrentImportTests
{
    private const int T = 7, F = 4, H = 5;

    private static AttributeProto Strings(string name, params string[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
        a.Strings.AddRange(values.Select(ByteString.CopyFromUtf8));
        return a;
    }

    private static AttributeProto Floats(string name, params float[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.AddRange(values);
        return a;
    }

    private static int Gates(string op) => op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;

    /// <summary>W, R, B initializers of a layer named <paramref name="prefix"/>.</summary>
    private static OnnxModelBuilder Weights(OnnxModelBuilder b, string prefix, string op, int directions, int input, int seed)
    {
        int g = Gates(op);
        return b.Initializer(prefix + "W", [directions, g * H, input], TestData.Floats(seed, directions * g * H * input, -0.6f, 0.6f))
            .Initializer(prefix + "R", [directions, g * H, H], TestData.Floats(seed + 1, directions * g * H * H, -0.6f, 0.6f))
            .Initializer(prefix + "B", [directions, 2 * g * H], TestData.Floats(seed + 2, directions * 2 * g * H, -0.4f, 0.4f));
    }

    private static void AssertMatchesOnnxRuntime(byte[] onnx, string name, int[] inputShape, int seed)
    {
        var x = TestData.Floats(seed, ShapeUtil.ElementCount(inputShape), -2f, 2f);
        string dir = RepoPaths.TempDirectory();
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, onnx);
        OnnxRuntimeOracleTests.CompareWithOnnxRuntime(path, NpyArray.FromFloat32(inputShape, x));
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>PyTorch's batch-first export: Transpose, layer with zero initial state, Squeeze of the direction axis, Gather(-1), Linear.</summary>
    [TestCase("LSTM", 0)]
    [TestCase("GRU", 1)]
    [TestCase("GRU", 0)]
    [TestCase("RNN", 0)]
    public void BatchFirstClassifier_MatchesOnnxRuntime(string op, int linearBeforeReset)
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, T, F);
        Weights(b, "l0.", op, 1, F, 10);
        b.Int64Initializer("state_shape", [1, 1, H]).Int64Initializer("axis1", [1])
            .Initializer("head.W", [3, H], TestData.Floats(20, 3 * H)).Initializer("head.B", [3], TestData.Floats(21, 3))
            .Node("Transpose", "to_time_major", ["x"], ["x_t"], Ints("perm", 1, 0, 2))
            .Node("ConstantOfShape", "h0", ["state_shape"], ["h0"]);
        var inputs = new List<string> { "x_t", "l0.W", "l0.R", "l0.B", "", "h0" };
        var attributes = new List<AttributeProto> { Int("hidden_size", H) };
        if (op == "LSTM")
        {
            b.Node("ConstantOfShape", "c0", ["state_shape"], ["c0"]);
            inputs.Add("c0");
        }
        if (op == "GRU") attributes.Add(Int("linear_before_reset", linearBeforeReset));
        string[] outputs = op == "LSTM" ? ["y", "y_h", "y_c"] : ["y", "y_h"];
        b.Node(op, "rnn", inputs.ToArray(), outputs, attributes.ToArray())
            .Node("Squeeze", "squeeze", ["y", "axis1"], ["y_sq"])
            .Node("Constant", "last_index", [], ["last"], Tensor("value", [-1], scalar: true))
            .Node("Gather", "last_step", ["y_sq", "last"], ["y_last"], Int("axis", 0))
            .Node("Gemm", "head", ["y_last", "head.W", "head.B"], ["logits"], Int("transB", 1))
            .Output("logits");
        var onnx = b.Build();
        AssertMatchesOnnxRuntime(onnx, $"{op.ToLowerInvariant()}_batch_first.onnx", [1, T, F], 30);

        var graph = OnnxImporter.Import(onnx, "batch_first");
        Assert.That(graph.Ops.Select(o => o.Type), Is.EqualTo(new[] { OpType.Transpose, Enum.Parse<OpType>(op, ignoreCase: true), OpType.Reshape, OpType.Slice, OpType.Gemm }));
        var rnn = graph.Ops[1];
        Assert.That(graph.Tensors[rnn.Inputs[RecurrentKernelsInputInitialH]].IsConstant, "the ConstantOfShape initial state is folded to a constant");
    }

    private const int RecurrentKernelsInputInitialH = EdgeNets.Runtime.Kernels.Reference.RecurrentKernels.InputInitialH;

    /// <summary>Bidirectional GRU, outputs concatenated per step, Slice of the last step, Y_h as a second output.</summary>
    [Test]
    public void BidirectionalGru_SliceOfLastStep_MatchesOnnxRuntime()
    {
        var b = new OnnxModelBuilder(13).Input("x", T, 2, F);
        Weights(b, "g.", "GRU", 2, F, 40);
        b.Int64Initializer("flat_shape", [T, 2, 2 * H])
            .Int64Initializer("starts", [-1]).Int64Initializer("ends", [long.MaxValue]).Int64Initializer("axes", [0])
            .Node("GRU", "gru", ["x", "g.W", "g.R", "g.B"], ["y", "y_h"], Int("hidden_size", H), String("direction", "bidirectional"), Int("linear_before_reset", 1))
            .Node("Transpose", "batch_major", ["y"], ["y_t"], Ints("perm", 0, 2, 1, 3))
            .Node("Reshape", "concat_dirs", ["y_t", "flat_shape"], ["y_flat"])
            .Node("Slice", "last", ["y_flat", "starts", "ends", "axes"], ["y_last"])
            .Output("y_last").Output("y_h");
        AssertMatchesOnnxRuntime(b.Build(), "gru_bidirectional.onnx", [T, 2, F], 41);
    }

    /// <summary>Two stacked layers (second reverse), alternative activations with alpha/beta, clip, peepholes, the full sequence_lens.</summary>
    [Test]
    public void StackedLstm_ActivationsPeepholesClip_MatchOnnxRuntime()
    {
        var b = new OnnxModelBuilder(13).Input("x", T, 1, F);
        Weights(b, "l0.", "LSTM", 1, F, 50);
        Weights(b, "l1.", "LSTM", 1, H, 60);
        b.Initializer("l0.P", [1, 3 * H], TestData.Floats(70, 3 * H, -0.5f, 0.5f));
        var lens = new TensorProto { Name = "lens", DataType = 6 };
        lens.Dims.Add(1);
        lens.Int32Data.Add(T);
        b.Graph.Initializer.Add(lens);
        b.Int64Initializer("axis1", [1])
            .Node("LSTM", "lstm0", ["x", "l0.W", "l0.R", "l0.B", "lens", "", "", "l0.P"], ["y0"], Int("hidden_size", H),
                Strings("activations", "HardSigmoid", "LeakyRelu", "Softsign"), Floats("activation_alpha", 0.3f, 0.1f), Floats("activation_beta", 0.45f), Float("clip", 1.5f))
            .Node("Squeeze", "squeeze0", ["y0", "axis1"], ["y0_sq"])
            .Node("LSTM", "lstm1", ["y0_sq", "l1.W", "l1.R", "l1.B"], ["y1", "", "c1"], Int("hidden_size", H), String("direction", "reverse"), Int("input_forget", 1))
            .Output("y1").Output("c1");
        AssertMatchesOnnxRuntime(b.Build(), "lstm_stacked.onnx", [T, 1, F], 51);
    }

    [TestCase("Relu", 0f, 0f)]
    [TestCase("ScaledTanh", 0.8f, 1.3f)]
    [TestCase("ThresholdedRelu", 0.2f, 0f)]
    [TestCase("Softplus", 0f, 0f)]
    public void RnnActivations_MatchOnnxRuntime(string activation, float alpha, float beta)
    {
        var b = new OnnxModelBuilder(13).Input("x", T, 2, F);
        Weights(b, "r.", "RNN", 2, F, 80);
        var attributes = new List<AttributeProto> { Int("hidden_size", H), String("direction", "bidirectional"), Strings("activations", activation, activation) };
        if (activation is "ScaledTanh" or "ThresholdedRelu") attributes.Add(Floats("activation_alpha", alpha, alpha));
        if (activation == "ScaledTanh") attributes.Add(Floats("activation_beta", beta, beta));
        b.Node("RNN", "rnn", ["x", "r.W", "r.R", "r.B"], ["y", "y_h"], attributes.ToArray()).Output("y").Output("y_h");
        AssertMatchesOnnxRuntime(b.Build(), $"rnn_{activation}.onnx", [T, 2, F], 81);
    }

    /// <summary>DeepConvLSTM-like hybrid: Conv1d over time, Relu, Transpose to time-major, GRU, last step, Linear; float and int8.</summary>
    [Test]
    public void HybridConvGru_MatchesOnnxRuntime_AndQuantizes()
    {
        const int channels = 3, filters = 6, steps = 16;
        var b = new OnnxModelBuilder(13).Input("x", 1, channels, steps);
        b.Initializer("conv.W", [filters, channels, 3], TestData.Floats(90, filters * channels * 3, -0.5f, 0.5f))
            .Initializer("conv.B", [filters], TestData.Floats(91, filters, -0.1f, 0.1f));
        Weights(b, "g.", "GRU", 1, filters, 92);
        b.Int64Initializer("axis1", [1])
            .Initializer("head.W", [4, H], TestData.Floats(95, 4 * H)).Initializer("head.B", [4], TestData.Floats(96, 4))
            .Node("Conv", "conv", ["x", "conv.W", "conv.B"], ["c"], Ints("pads", 1, 1), Ints("kernel_shape", 3))
            .Node("Relu", "relu", ["c"], ["c_relu"])
            .Node("Transpose", "time_major", ["c_relu"], ["seq"], Ints("perm", 2, 0, 1))
            .Node("GRU", "gru", ["seq", "g.W", "g.R", "g.B"], ["y", "y_h"], Int("hidden_size", H), Int("linear_before_reset", 1))
            .Node("Squeeze", "squeeze", ["y_h", "axis1"], ["h_last"]) // Y_h [1, 1, H] → [1, H]
            .Node("Gemm", "head", ["h_last", "head.W", "head.B"], ["logits"], Int("transB", 1))
            .Output("logits");
        var onnx = b.Build();
        AssertMatchesOnnxRuntime(onnx, "conv_gru.onnx", [1, channels, steps], 97);

        var floatGraph = OnnxImporter.Import(onnx, "conv_gru.onnx");
        var calibration = Enumerable.Range(0, 32).Select(i => TestData.Floats(1000 + i, channels * steps, -2f, 2f)).ToList();
        var pair = EdgeNets.Tests.Quantization.QuantTestKit.Quantize(floatGraph, calibration);
        Assert.That(pair.Int8Graph.Ops.Single(o => o.Type == OpType.Gru).Name, Is.EqualTo("gru"));
        EdgeNets.Tests.Quantization.QuantTestKit.AssertInt8Close(pair,
            Enumerable.Range(0, 16).Select(i => TestData.Floats(2000 + i, channels * steps, -2f, 2f)).ToList(), maxSteps: 8, minSqnrDb: 25);
        var e = Assert.Throws<EdgeNets.Runtime.Format.ModelFormatException>(() => pair.Int8.CreateStreamingSession());
        Assert.That(e!.Message, Does.Contain("per window"));
    }

    [Test]
    public void RunTimeSequenceLens_IsRejectedWithTheReason()
    {
        var b = new OnnxModelBuilder(13).Input("x", T, 1, F).Input("lens", 1);
        Weights(b, "r.", "RNN", 1, F, 1);
        b.Node("RNN", "rnn", ["x", "r.W", "r.R", "r.B", "lens"], ["y"], Int("hidden_size", H)).Output("y");
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(b.Build(), "lens.onnx"));
        Assert.That(e!.Message, Does.Contain("sequence_lens"));
    }

    [Test]
    public void ShorterSequenceLens_IsRejected()
    {
        var b = new OnnxModelBuilder(13).Input("x", T, 2, F);
        Weights(b, "r.", "RNN", 1, F, 1);
        var lens = new TensorProto { Name = "lens", DataType = 6 };
        lens.Dims.Add(2);
        lens.Int32Data.AddRange([T, T - 2]);
        b.Graph.Initializer.Add(lens);
        b.Node("RNN", "rnn", ["x", "r.W", "r.R", "r.B", "lens"], ["y"], Int("hidden_size", H)).Output("y");
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(b.Build(), "lens.onnx"));
        Assert.That(e!.Message, Does.Contain("sequence_lens[1]").And.Contain("variable-length"));
    }

    // ---- PyTorch exports (tests/data/onnx-rnn, see its manifest.txt) ----
    // MODEL.onnx with one MODEL.<input>.npy per graph input and PyTorch's outputs as MODEL.<output>.npy.

    private static string ExportDir => Path.Combine(RepoPaths.TestData, "onnx-rnn");

    public static IEnumerable<TestCaseData> PytorchExports()
    {
        if (!Directory.Exists(ExportDir)) yield break;
        foreach (var path in Directory.GetFiles(ExportDir, "*.onnx").OrderBy(p => p, StringComparer.Ordinal))
            yield return new TestCaseData(Path.GetFileName(path)).SetName($"PytorchExport({Path.GetFileName(path)})");
    }

    [TestCaseSource(nameof(PytorchExports))]
    public void PytorchExport(string fileName)
    {
        string path = Path.Combine(ExportDir, fileName);
        string stem = Path.Combine(ExportDir, Path.GetFileNameWithoutExtension(fileName));
        using var ort = new InferenceSession(path);
        var inputNames = ort.InputMetadata.Keys.ToList();
        var data = inputNames.Select(n => NpyFile.Read($"{stem}.{n}.npy")).ToList();
        var options = new ImportOptions();
        for (int i = 0; i < inputNames.Count; i++) options.InputShapes[inputNames[i]] = data[i].Shape;

        using var session = ImportTestSupport.Load(OnnxImporter.Import(path, options)).CreateSession();
        var model = session.Model;
        Assert.That(model.Inputs.Select(t => t.Name), Is.EqualTo(inputNames), "graph inputs in ONNX order");
        for (int i = 0; i < data.Count; i++) session.SetInput(i, data[i].ToFloat32());
        session.Invoke();

        using var results = ort.Run(inputNames.Select((n, i) => NamedOnnxValue.CreateFromTensor(n, new DenseTensor<float>(data[i].ToFloat32(), data[i].Shape))).ToList());
        Assert.That(model.Outputs.Select(o => o.Name), Is.EqualTo(ort.OutputMetadata.Keys.ToArray()), "graph outputs in ONNX order");
        foreach (var result in results)
        {
            var expected = result.AsTensor<float>();
            int index = model.Outputs.ToList().FindIndex(o => o.Name == result.Name);
            Assert.That(model.Outputs[index].Shape, Is.EqualTo(expected.Dimensions.ToArray()), $"shape of output '{result.Name}'");
            var ours = new float[model.Outputs[index].ElementCount];
            session.GetOutput(index, ours);
            ImportTestSupport.AssertClose(expected.ToArray(), ours, 1e-4f, 1e-5f, $"{fileName} output '{result.Name}' vs ONNX Runtime");
            string reference = $"{stem}.{result.Name}.npy";
            if (File.Exists(reference))
                ImportTestSupport.AssertClose(NpyFile.Read(reference).ToFloat32(), ours, 1e-4f, 1e-5f, $"{fileName} output '{result.Name}' vs PyTorch");
        }
    }

    /// <summary>
    /// Single-input exports that can stream, float32 and int8 (calibrated on random sequences): feeding the sample
    /// step by step gives every per-step output row of the whole-sequence run and, after the last step, its final
    /// values (int8: the same bytes; float32: within 1e-6). The others are refused with the reason.
    /// </summary>
    public static IEnumerable<TestCaseData> StreamableExports() =>
        PytorchExports().Select(c => new TestCaseData(c.Arguments[0]).SetName($"PytorchExport_Streams({c.Arguments[0]})"));

    [TestCaseSource(nameof(StreamableExports))]
    public void PytorchExport_Streams(string fileName)
    {
        string path = Path.Combine(ExportDir, fileName);
        string stem = Path.Combine(ExportDir, Path.GetFileNameWithoutExtension(fileName));
        var input = NpyFile.Read($"{stem}.input.npy");
        var options = new ImportOptions();
        options.InputShapes["input"] = input.Shape;
        var floatGraph = OnnxImporter.Import(path, options);
        if (floatGraph.Inputs.Count != 1) Assert.Ignore("several graph inputs (initial states): not a streaming model");
        var calibration = Enumerable.Range(0, 16).Select(i => TestData.Floats(4000 + i, input.Count, -2f, 2f)).ToList();
        var pair = EdgeNets.Tests.Quantization.QuantTestKit.Quantize(floatGraph, calibration);
        var x = input.ToFloat32();
        foreach (var model in new[] { pair.Float, pair.Int8 })
        {
            bool int8 = model == pair.Int8;
            EdgeNets.Runtime.StreamingSession stream;
            try { stream = model.CreateStreamingSession(); }
            catch (EdgeNets.Runtime.Format.ModelFormatException e)
            {
                Assert.That(e.Message, Does.Contain("bidirectional").Or.Contain("per window").Or.Contain("across time"), e.Message);
                TestContext.Out.WriteLine($"{(int8 ? "int8" : "float32")}: refused: {e.Message}");
                continue;
            }
            TestContext.Out.WriteLine($"{(int8 ? "int8" : "float32")}: streams along input axis {stream.InputTimeAxis}");
            {
            }
            using (stream)
            using (var whole = model.CreateSession())
            {
                whole.SetInput(0, x);
                whole.Invoke();
                var shape = model.Inputs[0].Shape;
                int axis = stream.InputTimeAxis, steps = shape[axis];
                int inner = 1;
                for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
                int outer = x.Length / (steps * inner);
                var step = new float[stream.StepInputSize];
                var ignored = new float[stream.StepOutputSize()];
                for (int t = 0; t < steps; t++)
                {
                    for (int o = 0; o < outer; o++) x.AsSpan((o * steps + t) * inner, inner).CopyTo(step.AsSpan(o * inner, inner));
                    bool produced = stream.Step(step, ignored);
                    // Windows over time (a Conv1d front end) hold back the first steps; after that each output is the next row.
                    Assert.That(produced, Is.EqualTo(t + 1 >= stream.StepsToFirstOutput && (t + 1 - stream.StepsToFirstOutput) % stream.OutputPeriod == 0), $"step {t} produces output");
                    for (int k = 0; k < model.Outputs.Count; k++)
                    {
                        int timeAxis = stream.OutputTimeAxis(k);
                        if (timeAxis < 0 ? t < steps - 1 : !produced) continue;
                        var full = Values(whole, model.Graph.Outputs[k], int8);
                        var streamed = Values(stream.Session, stream.StepGraph.Outputs[k], int8);
                        var expected = timeAxis < 0 ? full : TimeSlice(full, model.Outputs[k].Shape, timeAxis, (int)stream.ReadySteps - 1);
                        Assert.That(streamed, Has.Length.EqualTo(expected.Length));
                        for (int i = 0; i < expected.Length; i++)
                            Assert.That(streamed[i], Is.EqualTo(expected[i]).Within(int8 ? 0 : 1e-6), $"{(int8 ? "int8" : "float32")} output {k} step {t} element {i}");
                    }
                }
            }
        }
    }

    /// <summary>A tensor as doubles: int8 values raw (compared exactly), float32 values as they are.</summary>
    private static double[] Values(EdgeNets.Runtime.Session session, int tensor, bool int8)
    {
        var bytes = session.GetTensorBytes(tensor);
        return int8 ? bytes.ToArray().Select(b => (double)(sbyte)b).ToArray()
            : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray().Select(v => (double)v).ToArray();
    }

    private static double[] TimeSlice(double[] values, int[] shape, int axis, int t)
    {
        int inner = 1;
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        int outer = values.Length / (shape[axis] * inner);
        var slice = new double[outer * inner];
        for (int o = 0; o < outer; o++) Array.Copy(values, (o * shape[axis] + t) * inner, slice, o * inner, inner);
        return slice;
    }
}
