using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace EdgeNets.Tests.EndToEnd;

/// <summary>
/// Every PyTorch-exported operator model in tests/data/onnx, converted to int8 (calibrated on its own sample input) and
/// compared with ONNX Runtime's float output: the int8 error must stay within a few output quantization steps.
/// </summary>
public class Int8OperatorModelTests
{
    public static IEnumerable<TestCaseData> Models() =>
        OperatorModels.Files("*.onnx").Select(f => new TestCaseData(f).SetName($"Int8MatchesOnnxRuntime({f})"));

    [TestCaseSource(nameof(Models))]
    public void Int8MatchesOnnxRuntime(string fileName)
    {
        var (model, input, path) = OperatorModels.ConvertInt8(fileName);
        var x = input.ToFloat32();
        var outputTensor = model.Graph.Tensors[model.Graph.Outputs[0]];
        var ours = new float[outputTensor.ElementCount];
        using (var session = model.CreateSession()) session.Run(x, ours);

        using var ort = new InferenceSession(path);
        using var value = OrtValue.CreateTensorValueFromMemory(x, input.Shape.Select(d => (long)d).ToArray());
        using var results = ort.Run(new RunOptions(), [ort.InputNames[0]], [value], [ort.OutputNames[0]]);
        var expected = results[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.That(ours.Length, Is.EqualTo(expected.Length));

        float step = outputTensor.Quantization!.Scale;
        double worst = 0, signal = 0, noise = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(ours[i] - expected[i]));
            signal += (double)expected[i] * expected[i];
            noise += (double)(ours[i] - expected[i]) * (ours[i] - expected[i]);
        }
        double sqnr = 10 * Math.Log10(signal / Math.Max(noise, 1e-30));
        TestContext.Out.WriteLine($"{fileName}: worst error {worst / step:F2} output steps of {step:G4}, SQNR {sqnr:F1} dB");
        Assert.That(worst, Is.LessThanOrEqualTo(4 * step), "int8 output far from ONNX Runtime's float output");
        Assert.That(sqnr, Is.GreaterThan(20), "int8 output too noisy");
    }
}
