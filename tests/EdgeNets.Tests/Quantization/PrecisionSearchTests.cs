using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Quantization;

/// <summary>The accuracy doctor on the gesture-digits model; ONNX Runtime's float32 run of the ONNX file is the oracle of the gain.</summary>
[TestFixture]
public class PrecisionSearchTests
{
    private static string ModelFile(string name) => Path.Combine(RepoPaths.GestureModel, name);

    private List<float[]> _calibration = null!, _inputs = null!;

    [OneTimeSetUp]
    public void LoadData()
    {
        _calibration = OnnxRuntimeRunner.Samples(NpyFile.Read(ModelFile("calibration.npy"))).Take(64).ToList();
        _inputs = OnnxRuntimeRunner.Samples(NpyFile.Read(ModelFile("test_inputs.npy"))).Take(64).ToList();
    }

    private byte[] Convert(AccuracyTarget? target, Action<PrecisionSearchResult>? searched = null) =>
        ModelConverter.Convert(OnnxImporter.Import(ModelFile("model.onnx")), new ConvertOptions
        {
            CalibrationSamples = _calibration,
            AccuracySearch = target == null ? null : new PrecisionSearchOptions
            {
                Targets = [target],
                Data = CalibrationData.FromSamples(_inputs.Select(x => new[] { x }).ToList()),
            },
            Searched = searched,
        });

    private double SqnrAgainstOnnxRuntime(byte[] enet)
    {
        using var ort = OnnxRuntimeRunner.Session(File.ReadAllBytes(ModelFile("model.onnx")));
        var oracle = _inputs.Select(x => OnnxRuntimeRunner.Run(ort, x, [1, 3, 32, 32])).ToList();
        return FloatLayerTests.OutputSqnr(Model.Load(enet), _inputs, oracle);
    }

    [Test]
    public void TargetAboveInt8_IsMetByRaisingLayers_AndOnnxRuntimeAgrees()
    {
        double int8 = SqnrAgainstOnnxRuntime(Convert(null));
        PrecisionSearchResult? found = null;
        var target = new AccuracyTarget(AccuracyMetric.Sqnr, Math.Round(int8) + 4);
        byte[] file = Convert(target, r => found = r);
        Assert.That(found!.Met, Is.True);
        Assert.That(found.RaisedLayers, Is.Not.Empty);
        Assert.That(found.After.SqnrDb, Is.GreaterThanOrEqualTo(target.Bound));
        Assert.That(found.Before.SqnrDb, Is.LessThan(target.Bound));
        Assert.That(found.Sensitivities.Select(s => s.Type), Is.All.AnyOf(OpType.Conv, OpType.Gemm), "every weighted layer measured, nothing else");
        var g = Model.Load(file).Graph;
        foreach (var name in found.RaisedLayers)
            Assert.That(g.Tensors[g.Ops.Single(o => o.Name == name).Outputs[0]].Type, Is.EqualTo(DataType.Float32), name);
        Assert.That(SqnrAgainstOnnxRuntime(file), Is.GreaterThan(int8 + 3), "ONNX Runtime sees the gain too");
    }

    [Test]
    public void SameDataAndTarget_GiveTheSameFile()
    {
        var target = new AccuracyTarget(AccuracyMetric.Sqnr, 40);
        Assert.That(Convert(target), Is.EqualTo(Convert(target)));
    }

    [Test]
    public void TargetInt8AlreadyMeets_RaisesNothing()
    {
        PrecisionSearchResult? found = null;
        byte[] file = Convert(new AccuracyTarget(AccuracyMetric.Top1Agreement, 50), r => found = r);
        Assert.That(found!.RaisedLayers, Is.Empty);
        Assert.That(file, Is.EqualTo(Convert(null)));
    }

    [TestCase("sqnr>=25", AccuracyMetric.Sqnr, 25)]
    [TestCase("top1-drop<=0.5", AccuracyMetric.Top1Drop, 0.5)]
    [TestCase("top1-agreement>=90", AccuracyMetric.Top1Agreement, 90)]
    public void Target_Parses(string text, AccuracyMetric metric, double bound)
    {
        Assert.That(AccuracyTarget.Parse(text), Is.EqualTo(new AccuracyTarget(metric, bound)));
        Assert.That(AccuracyTarget.Parse(text)!.ToString(), Is.EqualTo(text));
    }

    [Test]
    public void Targets_SeparatedByCommas_AllHold()
    {
        var targets = AccuracyTarget.ParseAll("sqnr>=25,top1-agreement>=90");
        Assert.That(targets, Is.EqualTo(new[] { new AccuracyTarget(AccuracyMetric.Sqnr, 25), new AccuracyTarget(AccuracyMetric.Top1Agreement, 90) }));
        var options = new PrecisionSearchOptions { Targets = targets!, Data = CalibrationData.FromSamples([]) };
        Assert.That(options.AreMet(new AccuracyScore(26, 95, null, null)), Is.True);
        Assert.That(options.AreMet(new AccuracyScore(26, 85, null, null)), Is.False);
        Assert.That(options.AreMet(new AccuracyScore(24, 95, null, null)), Is.False);
        Assert.That(AccuracyTarget.ParseAll("sqnr>=25,agreement>=90"), Is.Null);
    }

    [TestCase("sqnr>25")]
    [TestCase("sqnr>=")]
    [TestCase("top1-drop<=-1")]
    [TestCase("accuracy>=90")]
    public void Target_Malformed_IsNull(string text) => Assert.That(AccuracyTarget.Parse(text), Is.Null);
}
