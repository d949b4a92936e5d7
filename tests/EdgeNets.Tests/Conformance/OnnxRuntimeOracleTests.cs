using EdgeNets.Converter.Import;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Import;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;

namespace EdgeNets.Tests.Conformance;

/// <summary>
/// Real exporter output against ONNX Runtime: every model in tests/data/onnx (with its sample input X.input.npy) and the
/// gesture-digits example are converted to float32, run, and compared output by output, matched by name.
/// </summary>
[TestFixture]
public class OnnxRuntimeOracleTests
{
    private static string OnnxDataDir => Path.Combine(ImportTestSupport.RepoRoot, "tests", "data", "onnx");

    public static IEnumerable<TestCaseData> Models()
    {
        var dir = Path.Combine(ImportTestSupport.RepoRoot, "tests", "data", "onnx");
        if (!Directory.Exists(dir)) yield break;
        foreach (var path in Directory.GetFiles(dir, "*.onnx").OrderBy(p => p, StringComparer.Ordinal))
            yield return new TestCaseData(Path.GetFileName(path)).SetName($"MatchesOnnxRuntime({Path.GetFileName(path)})");
    }

    [Test]
    public void OperatorModels_ArePresent()
    {
        Assert.That(Models().Count(), Is.GreaterThan(0), $"no *.onnx models in {OnnxDataDir}");
    }

    [TestCaseSource(nameof(Models))]
    public void MatchesOnnxRuntime(string fileName)
    {
        string path = Path.Combine(OnnxDataDir, fileName);
        string inputPath = Path.ChangeExtension(path, ".input.npy");
        Assert.That(File.Exists(inputPath), Is.True, $"{fileName} has no sample input {Path.GetFileName(inputPath)}");
        CompareWithOnnxRuntime(path, NpyFile.Read(inputPath));
    }

    [Test]
    public void GestureDigits_FirstSixteenTestSamples_MatchOnnxRuntime()
    {
        string dir = Path.Combine(ImportTestSupport.RepoRoot, "models", "gesture-digits");
        var all = NpyFile.Read(Path.Combine(dir, "test_inputs.npy"));
        int samples = Math.Min(16, all.SampleCount);
        var values = all.ToFloat32().AsSpan(0, samples * all.SampleSize).ToArray();
        var batch = NpyArray.FromFloat32([samples, .. all.Shape[1..]], values);
        CompareWithOnnxRuntime(Path.Combine(dir, "model.onnx"), batch);
    }

    /// <summary>Converts an ONNX model to float32 and compares every output with ONNX Runtime on one input (1e-4 relative).</summary>
    public static void CompareWithOnnxRuntime(string onnxPath, NpyArray input)
    {
        var x = input.ToFloat32();

        var graph = OnnxImporter.Import(onnxPath, new ImportOptions { BatchSize = input.Shape[0] });
        using var session = ImportTestSupport.Load(graph).CreateSession();
        Assert.That(session.Model.Graph.Inputs, Has.Count.EqualTo(1), "single-input models only");
        Assert.That(session.Model.Inputs[0].Shape, Is.EqualTo(input.Shape), "converted input shape");
        session.SetInput(0, x);
        session.Invoke();

        using var ort = new InferenceSession(onnxPath);
        string inputName = ort.InputMetadata.Keys.Single();
        Assert.That(session.Model.Inputs[0].Name, Is.EqualTo(inputName));
        using var results = ort.Run([NamedOnnxValue.CreateFromTensor(inputName, new DenseTensor<float>(x, input.Shape))]);

        var outputs = session.Model.Outputs;
        Assert.That(outputs.Select(o => o.Name), Is.EqualTo(ort.OutputMetadata.Keys.ToArray()), "graph outputs in ONNX order");
        foreach (var result in results)
        {
            var tensor = result.AsTensor<float>();
            int index = outputs.ToList().FindIndex(o => o.Name == result.Name);
            Assert.That(outputs[index].Shape, Is.EqualTo(tensor.Dimensions.ToArray()), $"shape of output '{result.Name}'");
            var ours = new float[outputs[index].ElementCount];
            session.GetOutput(index, ours);
            ImportTestSupport.AssertClose(tensor.ToArray(), ours, 1e-4f, 1e-5f, $"{Path.GetFileName(onnxPath)} output '{result.Name}'");
        }
    }
}
