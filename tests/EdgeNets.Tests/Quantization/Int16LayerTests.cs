using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Quantization;

/// <summary>
/// Layers with int16 activations and int8 weights (TFLite's 16x8 scheme) inside an int8 model, on the gesture-digits
/// model with ONNX Runtime's float32 execution of the ONNX file as the oracle.
/// </summary>
[TestFixture]
public class Int16LayerTests
{
    private const string Conv0 = "/features/features.0/features.0.0/Conv", Conv1 = "/features/features.1/features.1.0/Conv",
        Conv2 = "/features/features.2/features.2.0/Conv", Fc1 = "/fc1/Gemm", Fc2 = "/fc2/Gemm";
    private static readonly string[] Weighted = [Conv0, Conv1, Conv2, Fc1, Fc2];
    private static string ModelFile(string name) => Path.Combine(RepoPaths.GestureModel, name);

    private List<float[]> _calibration = null!, _inputs = null!;
    private List<float[]> _oracle = null!;

    [OneTimeSetUp]
    public void LoadDataAndOracle()
    {
        _calibration = OnnxRuntimeRunner.Samples(NpyFile.Read(ModelFile("calibration.npy"))).Take(64).ToList();
        _inputs = OnnxRuntimeRunner.Samples(NpyFile.Read(ModelFile("test_inputs.npy"))).Take(100).ToList();
        using var ort = OnnxRuntimeRunner.Session(File.ReadAllBytes(ModelFile("model.onnx")));
        _oracle = _inputs.Select(x => OnnxRuntimeRunner.Run(ort, x, [1, 3, 32, 32])).ToList();
    }

    private byte[] Convert(IEnumerable<string> int16, IEnumerable<string>? float32 = null)
    {
        var precisions = int16.ToDictionary(n => n, _ => Precision.Int16);
        foreach (var name in float32 ?? []) precisions[name] = Precision.Float32;
        return ModelConverter.Convert(OnnxImporter.Import(ModelFile("model.onnx")), new ConvertOptions
        {
            CalibrationSamples = _calibration,
            Quantizer = new QuantizerOptions { LayerPrecisions = precisions },
        });
    }

    private double OutputSqnr(byte[] model) => FloatLayerTests.OutputSqnr(Model.Load(model), _inputs, _oracle);

    [TestCase(Fc1, 3)]
    [TestCase(Conv1, 2)]
    public void Int16Layer_IsCloserToOnnxRuntimeFloatThanTheSameLayerInt8(string layer, double marginDb)
    {
        // The others float32, so the difference is this layer's activation rounding (its int8 weights are the same).
        var others = Weighted.Where(n => n != layer).ToList();
        double int8 = OutputSqnr(Convert([], others));
        double int16 = OutputSqnr(Convert([layer], others));
        Assert.That(int16, Is.GreaterThan(int8 + marginDb), $"int8 {int8:F1} dB, int16 {int16:F1} dB");
    }

    [Test]
    public void AllWeightedLayersInt16_BeatInt8_AndRunTheInt16KernelsBetweenConversions()
    {
        var bytes = Convert(Weighted);
        Assert.That(OutputSqnr(bytes), Is.GreaterThan(OutputSqnr(Convert([])) + 1));
        var g = Model.Load(bytes).Graph;
        foreach (var name in Weighted)
        {
            var op = g.Ops.Single(o => o.Name == name);
            Assert.That(g.Tensors[op.Inputs[0]].Type, Is.EqualTo(DataType.Int16), name);
            Assert.That(g.Tensors[op.Inputs[1]].Type, Is.EqualTo(DataType.Int8), $"{name}: int8 weights");
            Assert.That(g.Tensors[op.Inputs[2]].Type, Is.EqualTo(DataType.Int64), $"{name}: int64 bias");
            Assert.That(g.Tensors[op.Outputs[0]].Type, Is.EqualTo(DataType.Int16), name);
            Assert.That(g.Tensors[op.Outputs[0]].Quantization!.ZeroPoint, Is.Zero, $"{name}: symmetric");
        }
        // The float input is quantized to int16 once; the MaxPools and Reshape between the layers follow their int16
        // input in float32 (a Dequantize each, a Quantize back); the int16 output is dequantized under its own name.
        Assert.That(g.Tensors[g.Inputs[0]].Type, Is.EqualTo(DataType.Float32));
        Assert.That(g.Ops.Count(o => o.Type == OpType.Requantize), Is.Zero, "no int8 tensor in between");
        Assert.That(g.Ops.Where(o => o.Type is OpType.MaxPool or OpType.Reshape).All(o => g.Tensors[o.Outputs[0]].Type == DataType.Float32));
        Assert.That(g.Tensors[g.Outputs[0]].Type, Is.EqualTo(DataType.Float32));
        Assert.That(g.Tensors[g.Outputs[0]].Name, Is.EqualTo("logits"));
        Assert.That(g.Metadata[Quantizer.Int16LayersKey], Is.EqualTo(string.Join(',', Weighted)));
    }

    [Test]
    public void Int16NextToInt8_MeetsThroughRequantize()
    {
        var g = Model.Load(Convert([Fc1])).Graph;
        var requantize = g.Ops.Where(o => o.Type == OpType.Requantize).ToList();
        Assert.That(requantize.Select(o => (g.Tensors[o.Inputs[0]].Type, g.Tensors[o.Outputs[0]].Type)),
            Is.EqualTo(new[] { (DataType.Int8, DataType.Int16), (DataType.Int16, DataType.Int8) }));
    }

    [Test]
    public void SameOptions_GiveTheSameBytes()
    {
        Assert.That(Convert([Conv1, Fc2]), Is.EqualTo(Convert([Conv1, Fc2])));
        Assert.That(Convert([Conv1, Fc2]), Is.Not.EqualTo(Convert([])));
    }

    [Test]
    public void Run_AllocatesNothing()
    {
        var model = Model.Load(Convert([Conv0, Conv1, Fc2], [Fc1]));
        using var session = model.CreateSession();
        var y = new float[10];
        // Enough warm-up runs for the JIT's tiering to settle (it may allocate on the calling thread).
        for (int i = 0; i < 500; i++) session.Run(_inputs[i % _inputs.Count], y);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) session.Run(_inputs[i], y);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.EqualTo(0));
    }

    [Test]
    public void Int16_OnAnOperatorWithoutAnInt16Form_IsRefusedByName()
    {
        var graph = OnnxImporter.Import(ModelFile("model.onnx"));
        string pool = graph.Ops.First(o => o.Type == OpType.MaxPool).Name;
        var e = Assert.Throws<ConversionException>(() => Convert([pool]));
        Assert.That(e!.Message, Does.Contain($"'{pool}'").And.Contain("Conv and Gemm"));
        Assert.That(Assert.Throws<ConversionException>(() => Convert(["/no/such/Conv"]))!.Message, Does.Contain("'/no/such/Conv'"));
    }

    private static IEnumerable<TestCaseData> OutOfRange()
    {
        yield return new TestCaseData(new Action<ModelGraph, OpInfo>((g, op) => Bias(g, op)[0] = (1L << 46) + 1), "bias").SetName("Bias above 2^46");
        yield return new TestCaseData(new Action<ModelGraph, OpInfo>((g, op) => op.Attributes.Set(AttributeKey.OutputShift, Enumerable.Repeat(15, g.Tensors[op.Inputs[1]].Shape[0]).ToArray())), "OutputShift").SetName("Shift above 14");
        yield return new TestCaseData(new Action<ModelGraph, OpInfo>((g, op) => op.Attributes.Set(AttributeKey.QuantizedMin, 40000)), "QuantizedMin").SetName("Clamp outside int16");
        yield return new TestCaseData(new Action<ModelGraph, OpInfo>((g, op) => op.Attributes.Set(AttributeKey.QuantizedMin, 100).Set(AttributeKey.QuantizedMax, 50)), "clamp").SetName("Empty clamp");
        yield return new TestCaseData(new Action<ModelGraph, OpInfo>((g, op) => g.Tensors[op.Outputs[0]].Quantization = QuantizationInfo.PerTensor(0.01f, 3)), "zero point").SetName("Asymmetric int16 output");
    }

    private static Span<long> Bias(ModelGraph g, OpInfo op)
    {
        var t = g.Tensors[op.Inputs[2]];
        var bytes = t.Data.ToArray();
        t.Data = bytes;
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes.AsSpan());
    }

    [TestCaseSource(nameof(OutOfRange))]
    public void Loader_RefusesOutOfRangeParameters_InOneLine(Action<ModelGraph, OpInfo> corrupt, string what)
    {
        var g = Model.Load(Convert([Conv1])).Graph;
        var op = g.Ops.Single(o => o.Name == Conv1);
        corrupt(g, op);
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(EnetWriter.Write(g)));
        Assert.That(e!.Message, Does.Contain(what));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }
}
