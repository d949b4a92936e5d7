using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Quantization;

/// <summary>
/// The example model end to end: import the ONNX file, calibrate on its calibration set, quantize, and hold int8
/// top-1 accuracy on the held-out set within 1 percentage point of the float32 model's.
/// </summary>
[TestFixture]
public class GestureDigitsQuantizationTests
{
    private static string ModelFile(string name) => Path.Combine(RepoPaths.GestureModel, name);

    private static List<float[]> SamplesOf(NpyArray array)
    {
        var all = array.ToFloat32();
        var list = new List<float[]>(array.SampleCount);
        for (int i = 0; i < array.SampleCount; i++) list.Add(all.AsSpan(i * array.SampleSize, array.SampleSize).ToArray());
        return list;
    }

    private static double Accuracy(Model model, IReadOnlyList<float[]> inputs, int[] labels, out int[] predictions)
    {
        using var session = model.CreateSession();
        var logits = new float[model.Outputs[0].ElementCount];
        predictions = new int[inputs.Count];
        int correct = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            session.Run(inputs[i], logits);
            int best = 0;
            for (int c = 1; c < logits.Length; c++) if (logits[c] > logits[best]) best = c;
            predictions[i] = best;
            if (best == labels[i]) correct++;
        }
        return (double)correct / inputs.Count;
    }

    private List<float[]> _calibration = null!, _inputs = null!;
    private int[] _labels = null!;
    private Model _floatModel = null!;
    private double _floatAccuracy;
    private int[] _floatPredictions = null!;

    [OneTimeSetUp]
    public void LoadDataAndFloatModel()
    {
        _calibration = SamplesOf(NpyFile.Read(ModelFile("calibration.npy")));
        _inputs = SamplesOf(NpyFile.Read(ModelFile("test_inputs.npy")));
        var labelArray = NpyFile.Read(ModelFile("test_labels.npy"));
        Assert.That(labelArray.Type, Is.EqualTo(NpyType.Int64));
        _labels = labelArray.ToInt32();
        Assert.That(_labels, Has.Length.EqualTo(_inputs.Count));
        _floatModel = Model.Load(ModelConverter.Convert(OnnxImporter.Import(ModelFile("model.onnx")), new ConvertOptions { Precision = Precision.Float32 }));
        _floatAccuracy = Accuracy(_floatModel, _inputs, _labels, out _floatPredictions);
    }

    [TestCase(CalibrationMethod.MinMax)]
    [TestCase(CalibrationMethod.Percentile)]
    public void Int8Accuracy_IsWithinOnePointOfFloat(CalibrationMethod method)
    {
        var (calibration, inputs, labels, floatModel, floatAccuracy, floatPredictions) =
            (_calibration, _inputs, _labels, _floatModel, _floatAccuracy, _floatPredictions);
        var progress = new RecordingProgress();
        var int8Bytes = ModelConverter.Convert(OnnxImporter.Import(ModelFile("model.onnx")), new ConvertOptions
        {
            Precision = Precision.Int8,
            CalibrationMethod = method,
            CalibrationSamples = calibration,
            Progress = progress,
        });
        var int8Model = Model.Load(int8Bytes);
        Assert.That(progress.Reports, Has.Count.EqualTo(calibration.Count));
        Assert.That(int8Model.Inputs[0].Type, Is.EqualTo(DataType.Int8));
        Assert.That(int8Model.Graph.Ops.Where(o => o.Type == OpType.Conv).Select(o => int8Model.Graph.Tensors[o.Inputs[1]].Type),
            Is.All.EqualTo(DataType.Int8));

        double int8Accuracy = Accuracy(int8Model, inputs, labels, out var int8Predictions);
        double agreement = floatPredictions.Zip(int8Predictions).Count(p => p.First == p.Second) / (double)inputs.Count;
        TestContext.Out.WriteLine($"{method}: float {floatAccuracy:P2}, int8 {int8Accuracy:P2}, top-1 agreement {agreement:P2}, " +
            $"file {int8Bytes.Length} bytes, arena {int8Model.ArenaBytes} bytes");
        foreach (var layer in PerLayerError.Compute(floatModel, int8Model, inputs.Take(32).ToArray()))
            TestContext.Out.WriteLine($"  {layer.TensorName,-40} {layer.FloatOpType,-12} {layer.SqnrDb,7:F1} dB");

        Assert.That(floatAccuracy, Is.GreaterThan(0.9), "the float model as trained");
        Assert.That(int8Accuracy, Is.GreaterThanOrEqualTo(floatAccuracy - 0.01), "int8 top-1 within 1 percentage point of float32");
    }
}
