using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Converter.Planning;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Recurrent;

/// <summary>
/// The example sensor models (models/activity-hapt, models/airquality-forecast: model.onnx, calibration.npy,
/// test_inputs.npy and test_labels.npy — integer classes — or test_targets.npy — regression targets) imported,
/// calibrated and quantized: int8 accuracy within 1 percentage point of float32, or int8 MAE within 5% of float32.
/// Where the model can stream, streaming its first held-out sequence step by step ends on the whole-sequence output.
/// </summary>
[TestFixture]
public class ExampleSequenceModelTests
{
    private static List<float[]> SamplesOf(NpyArray array)
    {
        var all = array.ToFloat32();
        var list = new List<float[]>(array.SampleCount);
        for (int i = 0; i < array.SampleCount; i++) list.Add(all.AsSpan(i * array.SampleSize, array.SampleSize).ToArray());
        return list;
    }

    private static Model Convert(string onnxPath, ConvertOptions options)
    {
        var graph = OnnxImporter.Import(onnxPath, new ImportOptions { BatchSize = 1 });
        return Model.Load(EnetWriter.Write(ModelConverter.ConvertToGraph(graph, options)));
    }

    private static float[][] RunAll(Model model, List<float[]> inputs)
    {
        using var session = model.CreateSession();
        var results = new float[inputs.Count][];
        for (int i = 0; i < inputs.Count; i++)
        {
            results[i] = new float[model.Outputs[0].ElementCount];
            session.Run(inputs[i], results[i]);
        }
        return results;
    }

    [TestCase("activity-hapt")]
    [TestCase("airquality-forecast")]
    public void Int8_KeepsTheFloatQuality(string name)
    {
        string dir = Path.Combine(RepoPaths.Models, name);
        if (!File.Exists(Path.Combine(dir, "model.onnx"))) Assert.Ignore($"{dir}/model.onnx is not there yet");
        CheckModelDirectory(dir, name);
    }

    /// <summary>
    /// The same check on a model directory written here: a batch-first LSTM classifier exported the PyTorch way, whose
    /// labels are the float model's own predictions (so int8 must agree on at least 99% of the windows), and a GRU
    /// regressor whose targets are the float outputs plus noise.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void SyntheticModelDirectory_PassesTheSameCheck(bool classifier)
    {
        string dir = RepoPaths.TempDirectory();
        const int steps = 12, features = 3, hidden = 6, outputs = 4;
        var b = new EdgeNets.Tests.Import.OnnxModelBuilder(13).Input("x", 1, steps, features);
        string op = classifier ? "LSTM" : "GRU";
        int gates = classifier ? 4 : 3;
        int outCount = classifier ? outputs : 1;
        b.Initializer("W", [1, gates * hidden, features], TestData.Floats(1, gates * hidden * features, -0.8f, 0.8f))
            .Initializer("R", [1, gates * hidden, hidden], TestData.Floats(2, gates * hidden * hidden, -0.8f, 0.8f))
            .Initializer("B", [1, 2 * gates * hidden], TestData.Floats(3, 2 * gates * hidden, -0.3f, 0.3f))
            .Initializer("head.W", [outCount, hidden], TestData.Floats(4, outCount * hidden, -4f, 4f))
            .Initializer("head.B", [outCount], TestData.Floats(5, outCount, -0.2f, 0.2f))
            .Int64Initializer("axis1", [1])
            .Node("Transpose", "to_time_major", ["x"], ["x_t"], EdgeNets.Tests.Import.OnnxModelBuilder.Ints("perm", 1, 0, 2))
            .Node(op, "rnn", ["x_t", "W", "R", "B"], ["y"], EdgeNets.Tests.Import.OnnxModelBuilder.Int("hidden_size", hidden),
                EdgeNets.Tests.Import.OnnxModelBuilder.Int("linear_before_reset", classifier ? 0 : 1))
            .Node("Squeeze", "squeeze", ["y", "axis1"], ["y_sq"])
            .Node("Transpose", "to_batch_major", ["y_sq"], ["y_b"], EdgeNets.Tests.Import.OnnxModelBuilder.Ints("perm", 1, 0, 2))
            .Node("Constant", "last_index", [], ["last"], EdgeNets.Tests.Import.OnnxModelBuilder.Tensor("value", [-1], scalar: true))
            .Node("Gather", "last_step", ["y_b", "last"], ["y_last"], EdgeNets.Tests.Import.OnnxModelBuilder.Int("axis", 1))
            .Node("Gemm", "head", ["y_last", "head.W", "head.B"], ["out"], EdgeNets.Tests.Import.OnnxModelBuilder.Int("transB", 1))
            .Output("out");
        if (!classifier) b.Graph.Node.Single(n => n.OpType == "GRU").Attribute.RemoveAt(1);
        File.WriteAllBytes(Path.Combine(dir, "model.onnx"), b.Build());
        const int count = 200;
        NpyFile.WriteFloat32(Path.Combine(dir, "calibration.npy"), [64, steps, features], TestData.Floats(10, 64 * steps * features, -2f, 2f));
        var test = TestData.Floats(11, count * steps * features, -2f, 2f);
        NpyFile.WriteFloat32(Path.Combine(dir, "test_inputs.npy"), [count, steps, features], test);
        var floatModel = Convert(Path.Combine(dir, "model.onnx"), new ConvertOptions { Precision = Precision.Float32 });
        var reference = RunAll(floatModel, SamplesOf(NpyFile.Read(Path.Combine(dir, "test_inputs.npy"))));
        if (classifier)
        {
            var labels = reference.Select(o => (long)Array.IndexOf(o, o.Max())).ToArray();
            var bytes = new byte[labels.Length * 8];
            Buffer.BlockCopy(labels, 0, bytes, 0, bytes.Length);
            NpyFile.Write(Path.Combine(dir, "test_labels.npy"), new NpyArray(NpyType.Int64, [count], bytes));
        }
        else
        {
            var noise = TestData.Floats(12, count, -0.3f, 0.3f);
            NpyFile.WriteFloat32(Path.Combine(dir, "test_targets.npy"), [count, 1], reference.Select((o, i) => o[0] + noise[i]).ToArray());
        }
        CheckModelDirectory(dir, classifier ? "synthetic classifier" : "synthetic regressor");
        Directory.Delete(dir, recursive: true);
    }

    private static void CheckModelDirectory(string dir, string name)
    {
        var calibration = SamplesOf(NpyFile.Read(Path.Combine(dir, "calibration.npy")));
        var inputs = SamplesOf(NpyFile.Read(Path.Combine(dir, "test_inputs.npy")));
        string onnx = Path.Combine(dir, "model.onnx");
        var floatModel = Convert(onnx, new ConvertOptions { Precision = Precision.Float32 });
        var int8Model = Convert(onnx, new ConvertOptions { CalibrationSamples = calibration });
        var f = RunAll(floatModel, inputs);
        var q = RunAll(int8Model, inputs);

        string labelsPath = Path.Combine(dir, "test_labels.npy");
        if (File.Exists(labelsPath))
        {
            var labels = NpyFile.Read(labelsPath).ToInt32();
            Assert.That(labels, Has.Length.EqualTo(inputs.Count));
            double Accuracy(float[][] outputs) => outputs.Select((o, i) => Array.IndexOf(o, o.Max()) == labels[i] ? 1.0 : 0.0).Average();
            double fa = Accuracy(f), qa = Accuracy(q);
            TestContext.Out.WriteLine($"{name}: float32 accuracy {fa:P2}, int8 {qa:P2} on {inputs.Count} held-out windows");
            Assert.That(qa, Is.GreaterThanOrEqualTo(fa - 0.01), "int8 accuracy within 1 point of float32");
        }
        else
        {
            var targets = NpyFile.Read(Path.Combine(dir, "test_targets.npy")).ToFloat32();
            Assert.That(targets, Has.Length.EqualTo(inputs.Count * f[0].Length));
            double Mae(float[][] outputs) => outputs.SelectMany(o => o).Select((v, i) => Math.Abs(v - targets[i])).Average();
            double fm = Mae(f), qm = Mae(q);
            TestContext.Out.WriteLine($"{name}: float32 MAE {fm:G5}, int8 MAE {qm:G5} on {inputs.Count} held-out windows");
            Assert.That(qm, Is.LessThanOrEqualTo(fm * 1.05), "int8 MAE within 5% of float32");
        }

        StreamingSession stream;
        try { stream = int8Model.CreateStreamingSession(); }
        catch (ModelFormatException e) { TestContext.Out.WriteLine($"not streamable (runs per window): {e.Message}"); return; }
        TestContext.Out.WriteLine($"{name}: streams along input axis {stream.InputTimeAxis}");
        using (stream)
        {
            int steps = inputs[0].Length / stream.StepInputSize;
            var stepOut = new float[stream.StepOutputSize()];
            var layoutAxis = stream.InputTimeAxis;
            var shape = int8Model.Inputs[0].Shape;
            // The step values of time t: the input's elements with index t on the time axis, in order.
            int inner = 1;
            for (int d = layoutAxis + 1; d < shape.Length; d++) inner *= shape[d];
            int outer = inputs[0].Length / (steps * inner);
            var step = new float[stream.StepInputSize];
            for (int t = 0; t < steps; t++)
            {
                for (int o = 0; o < outer; o++) inputs[0].AsSpan((o * steps + t) * inner, inner).CopyTo(step.AsSpan(o * inner, inner));
                stream.Step(step, stepOut);
            }
            if (stepOut.Length == q[0].Length) Assert.That(stepOut, Is.EqualTo(q[0]), "streamed int8 output after the last step = whole-sequence output");
        }
    }
}
