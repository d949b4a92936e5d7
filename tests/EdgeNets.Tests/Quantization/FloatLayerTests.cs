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
/// Layers kept in float32 inside an int8 model (QuantizerOptions.LayerPrecisions), on the gesture-digits model with
/// ONNX Runtime's float32 execution of the ONNX file as the oracle.
/// </summary>
[TestFixture]
public class FloatLayerTests
{
    private const string Fc1 = "/fc1/Gemm", Fc2 = "/fc2/Gemm", Conv1 = "/features/features.1/features.1.0/Conv";
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

    private byte[] Convert(params string[] floatLayers) =>
        ModelConverter.Convert(OnnxImporter.Import(ModelFile("model.onnx")), new ConvertOptions
        {
            CalibrationSamples = _calibration,
            Quantizer = new QuantizerOptions { LayerPrecisions = floatLayers.ToDictionary(n => n, _ => Precision.Float32) },
        });

    private double OutputSqnr(Model model) => OutputSqnr(model, _inputs, _oracle);

    /// <summary>Output SQNR in dB of <paramref name="model"/> against <paramref name="oracle"/>'s outputs on <paramref name="inputs"/>.</summary>
    internal static double OutputSqnr(Model model, IReadOnlyList<float[]> inputs, IReadOnlyList<float[]> oracle)
    {
        using var session = model.CreateSession();
        var y = new float[model.Outputs[0].ElementCount];
        double signal = 0, noise = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            session.Run(inputs[i], y);
            for (int k = 0; k < y.Length; k++)
            {
                double d = (double)y[k] - oracle[i][k];
                signal += (double)oracle[i][k] * oracle[i][k];
                noise += d * d;
            }
        }
        return PerLayerError.Sqnr(signal, noise);
    }

    [Test]
    public void FloatLayers_AreCloserToOnnxRuntimeFloatThanAllInt8()
    {
        double int8 = OutputSqnr(Model.Load(Convert()));
        double mixed = OutputSqnr(Model.Load(Convert(Fc1, Fc2)));
        double conv = OutputSqnr(Model.Load(Convert(Conv1, Fc1, Fc2)));
        Assert.That(mixed, Is.GreaterThan(int8 + 1), "fc1 and fc2 in float32");
        Assert.That(conv, Is.GreaterThan(int8 + 1), "a Conv, fc1 and fc2 in float32");
    }

    [Test]
    public void FloatLayers_RunTheirFloatKernelsBetweenConversions_FusedWhereOneFeedsAnother()
    {
        var g = Model.Load(Convert(Conv1, Fc1, Fc2)).Graph;
        foreach (var name in new[] { Conv1, Fc1, Fc2 })
        {
            var op = g.Ops.Single(o => o.Name == name);
            Assert.That(g.Tensors[op.Outputs[0]].Type, Is.EqualTo(DataType.Float32), name);
            Assert.That(g.Tensors[op.Inputs[1]].Type, Is.EqualTo(DataType.Float32), $"{name}: float32 weights");
        }
        // Into the Conv and into fc1 (fc1 feeds fc2 directly); out of the Conv's MaxPool... which is int8, so one Quantize
        // after the Conv; fc2's output is the graph output, read as float32.
        Assert.That(g.Ops.Count(o => o.Type == OpType.Dequantize), Is.EqualTo(2));
        Assert.That(g.Ops.Count(o => o.Type == OpType.Quantize), Is.EqualTo(1));
        Assert.That(g.Tensors[g.Outputs[0]].Type, Is.EqualTo(DataType.Float32));
        var fc2 = g.Ops.Single(o => o.Name == Fc2);
        Assert.That(g.Ops.Single(o => o.Name == Fc1).Outputs[0], Is.EqualTo(fc2.Inputs[0]), "fc1 feeds fc2 without conversions");
        Assert.That(g.Metadata[Quantizer.FloatLayersKey], Is.EqualTo($"{Conv1},{Fc1},{Fc2}"));
        Assert.That(g.Metadata["precision"], Is.EqualTo("int8"));
    }

    [Test]
    public void GraphInput_ReadOnlyByFloatLayers_StaysFloat32()
    {
        const string first = "/features/features.0/features.0.0/Conv";
        var g = Model.Load(Convert(first)).Graph;
        Assert.That(g.Tensors[g.Inputs[0]].Type, Is.EqualTo(DataType.Float32));
        Assert.That(g.Ops.Single(o => o.Name == first).Inputs[0], Is.EqualTo(g.Inputs[0]), "no Dequantize before the first layer");
        Assert.That(Model.Load(Convert(Conv1)).Graph.Tensors[g.Inputs[0]].Type, Is.EqualTo(DataType.Int8), "an int8 first layer reads int8");
        Assert.That(OutputSqnr(Model.Load(Convert(first))), Is.GreaterThan(OutputSqnr(Model.Load(Convert()))));
    }

    [Test]
    public void SameOptions_GiveTheSameBytes()
    {
        Assert.That(Convert(Conv1, Fc2), Is.EqualTo(Convert(Conv1, Fc2)));
        Assert.That(Convert(Conv1, Fc2), Is.Not.EqualTo(Convert()));
    }

    [Test]
    public void Run_AllocatesNothing()
    {
        var model = Model.Load(Convert(Conv1, Fc2));
        using var session = model.CreateSession();
        var y = new float[10];
        // Enough warm-up runs for the JIT's tiering to settle (it may allocate on the calling thread).
        for (int i = 0; i < 500; i++) session.Run(_inputs[i % _inputs.Count], y);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) session.Run(_inputs[i], y);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.EqualTo(0));
    }

    [Test]
    public void UnknownLayer_IsRefusedByName()
    {
        var e = Assert.Throws<ConversionException>(() => Convert(Fc1, "/no/such/Conv"));
        Assert.That(e!.Message, Does.Contain("'/no/such/Conv'"));
    }

    [Test]
    public void Loader_RefusesAConversionWithoutQuantization()
    {
        var graph = Model.Load(Convert(Fc2)).Graph;
        var dequantize = graph.Ops.Single(o => o.Type == OpType.Dequantize);
        graph.Tensors[dequantize.Inputs[0]].Quantization = null;
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(EnetWriter.Write(graph)));
        Assert.That(e!.Message, Does.Contain("quantization").Or.Contain(dequantize.Name));
    }
}
